// Fiscal codes never appear in clear in logs or error messages: a short keyed hash identifies
// the citizen well enough to correlate log lines, without revealing who it is (an unkeyed hash
// would: see src/log/ref-key.ts).
import { keyedRef } from '../../log/ref-key.js';
import { FISCAL_CODE_SHAPE } from '../../util/fiscal-code.js';

const SHAPE = new RegExp(FISCAL_CODE_SHAPE, 'gi');

/** "cf#" plus 12 hex digits of the keyed hash of the upper-cased code. */
export function fiscalCodeRef(fiscalCode: string): string {
  return `cf#${keyedRef(fiscalCode.trim().toUpperCase())}`;
}

/** Replace every fiscal-code-like token, and `known` codes even if malformed, with their ref. */
export function maskFiscalCodes(text: string, ...known: string[]): string {
  let out = text.replace(SHAPE, (m) => fiscalCodeRef(m));
  for (const fc of known) {
    if (fc.length > 0) out = out.split(fc).join(fiscalCodeRef(fc));
  }
  return out;
}
