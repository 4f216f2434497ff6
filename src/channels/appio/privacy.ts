// Fiscal codes never appear in clear in logs or error messages: a short hash identifies the
// citizen well enough to correlate log lines, without revealing who it is.
import { createHash } from 'node:crypto';
import { FISCAL_CODE_SHAPE } from '../../util/fiscal-code.js';

const SHAPE = new RegExp(FISCAL_CODE_SHAPE, 'gi');

/** "cf#" plus the first 12 hex digits of the SHA-256 of the upper-cased code. */
export function fiscalCodeRef(fiscalCode: string): string {
  return `cf#${createHash('sha256').update(fiscalCode.trim().toUpperCase()).digest('hex').slice(0, 12)}`;
}

/** Replace every fiscal-code-like token, and `known` codes even if malformed, with their ref. */
export function maskFiscalCodes(text: string, ...known: string[]): string {
  let out = text.replace(SHAPE, (m) => fiscalCodeRef(m));
  for (const fc of known) {
    if (fc.length > 0) out = out.split(fc).join(fiscalCodeRef(fc));
  }
  return out;
}
