// Phone numbers never appear in clear in logs or error messages: a short keyed hash identifies
// the recipient well enough to correlate log lines, without revealing the number (an unkeyed
// hash would not hide it: see src/log/ref-key.ts).
import { keyedRef } from '../../log/ref-key.js';
import { maskText } from '../../util/mask.js';

/** "tel#" plus 12 hex digits of the keyed hash of the E.164 number (digits only, so "+39…" and "39…" agree). */
export function phoneRef(phone: string): string {
  const digits = phone.replace(/\D/g, '');
  return `tel#${keyedRef(digits)}`;
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
