// Italian personal fiscal codes (codice fiscale): the citizen's identity on every channel.
// IO checks only the shape; we also check the control character, so a typo in a back-office
// is caught before it reaches IO (where it would silently address nobody, or someone else).

/** IO's fiscal-code pattern (FiscalCode in the IO OpenAPI), without anchors or flags. */
export const FISCAL_CODE_SHAPE =
  '[A-Z]{6}[0-9LMNPQRSTUV]{2}[ABCDEHLMPRST][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]';

/** IO's documented test code: draft services send to it, and IO does not checksum it. */
export const IO_TEST_FISCAL_CODE = 'AAAAAA00A00A000A';

const LETTER = /[A-Z]/;
// Positions that hold digits, or their omocodia letters when codes collide.
const DIGIT_OR_OMOCODIA = /[0-9LMNPQRSTUV]/;
const MONTH = /[ABCDEHLMPRST]/;
// One class per position, as in FISCAL_CODE_SHAPE.
const POSITIONS: ReadonlyArray<{ re: RegExp; what: string }> = [
  ...Array.from({ length: 6 }, () => ({ re: LETTER, what: 'a letter' })),
  ...Array.from({ length: 2 }, () => ({ re: DIGIT_OR_OMOCODIA, what: 'a digit' })),
  { re: MONTH, what: 'a month letter (A B C D E H L M P R S T)' },
  ...Array.from({ length: 2 }, () => ({ re: DIGIT_OR_OMOCODIA, what: 'a digit' })),
  { re: LETTER, what: 'a letter' },
  ...Array.from({ length: 3 }, () => ({ re: DIGIT_OR_OMOCODIA, what: 'a digit' })),
  { re: LETTER, what: 'a letter' },
];

// Values of characters in odd positions (1st, 3rd, ...): digits share their letter's value.
const ODD = [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23];

function charValue(c: string): number {
  const code = c.charCodeAt(0);
  return code <= 57 ? code - 48 : code - 65; // '0'..'9' → 0..9, 'A'..'Z' → 0..25
}

/** The control character for the first 15 characters of a (normalised, well-shaped) code. */
export function fiscalCodeCheckChar(first15: string): string {
  let sum = 0;
  for (let i = 0; i < 15; i++) {
    const v = charValue(first15[i]!);
    sum += i % 2 === 0 ? ODD[v]! : v;
  }
  return String.fromCharCode(65 + (sum % 26));
}

/** Trim and upper-case: the form to store and to send to IO. */
export function normalizeFiscalCode(v: string): string {
  return v.trim().toUpperCase();
}

/** null when `value` is a valid fiscal code (after normalising), else the reason it is not. */
export function checkFiscalCode(value: unknown): string | null {
  if (typeof value !== 'string') return `not a string (got ${value === null ? 'null' : typeof value})`;
  const cf = normalizeFiscalCode(value);
  if (cf.length !== 16) return `not 16 characters (got ${cf.length})`;
  if (cf === IO_TEST_FISCAL_CODE) return null;
  for (let i = 0; i < 16; i++) {
    const { re, what } = POSITIONS[i]!;
    if (!re.test(cf[i]!)) return `bad format at position ${i + 1}: expected ${what}`;
  }
  const expected = fiscalCodeCheckChar(cf);
  if (cf[15] !== expected) return `wrong check character: expected ${expected}`;
  return null;
}

export function isValidFiscalCode(value: unknown): value is string {
  return checkFiscalCode(value) === null;
}
