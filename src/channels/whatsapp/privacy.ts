// Phone numbers never appear in clear in logs or error messages: a short hash identifies the
// recipient well enough to correlate log lines, without revealing the number.
import { createHash } from 'node:crypto';
import { maskText } from '../../util/mask.js';

/** "tel#" plus the first 12 hex digits of the SHA-256 of the E.164 number (digits only, so "+39…" and "39…" agree). */
export function phoneRef(phone: string): string {
  const digits = phone.replace(/\D/g, '');
  return `tel#${createHash('sha256').update(digits).digest('hex').slice(0, 12)}`;
}

/** Masks phone-like text, and `known` numbers in any form maskText misses ("393471234567") by their ref. */
export function maskPhones(text: string, ...known: string[]): string {
  let out = maskText(text);
  for (const phone of known) {
    const digits = phone.replace(/\D/g, '');
    if (digits.length < 6) continue;
    out = out.split(`+${digits}`).join(phoneRef(digits)).split(digits).join(phoneRef(digits));
  }
  return out;
}
