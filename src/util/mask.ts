// Masking of personal identifiers (fiscal codes, phone numbers) in text and in structured
// values, so logs never carry them in clear. Tuned to leave timestamps, ULIDs, UUIDs and
// short numeric ids alone: a log full of stars is useless for debugging.
import { FISCAL_CODE_SHAPE, fiscalCodeCheckChar } from './fiscal-code.js';
import { httpErrorSummary, isHttpClientError, maskSecrets, secretValueFor } from './mask-secrets.js';

/** Fiscal-code-shaped token (with omocodia), not part of a longer alphanumeric run. */
const FISCAL_CODE_IN_TEXT = new RegExp(`(?<![A-Za-z0-9])${FISCAL_CODE_SHAPE}(?![A-Za-z0-9])`, 'gi');

// A fiscal code written in groups ("RSS MRA 80A01 H501U", "rss-mra-80a01-h501u"): one kind of
// separator (a space or a dash), only between the code's own parts (surname, name, year, month,
// day, town, control), so the 16 characters still have to follow the code's exact structure.
const CF_PARTS = ['[A-Z]{3}', '[A-Z]{3}', '[0-9LMNPQRSTUV]{2}', '[ABCDEHLMPRST]', '[0-9LMNPQRSTUV]{2}', '[A-Z]', '[0-9LMNPQRSTUV]{3}', '[A-Z]'];
const GROUPED_FISCAL_CODE_IN_TEXT = new RegExp(
  `(?<![A-Za-z0-9])(?:${[' ', '-'].map((sep) => CF_PARTS.join(`${sep}?`)).join('|')})(?![A-Za-z0-9])`,
  'gi',
);
// Omocodia replaces digits with letters from the rightmost one leftwards, so in a real code no
// digit follows a replaced one: this keeps runs of ordinary words from passing as a code.
const DIGIT_POSITIONS = [6, 7, 9, 10, 12, 13, 14];
function isGroupedFiscalCode(m: string): boolean {
  const cf = m.replace(/[ -]/g, '');
  if (cf.length === m.length) return false; // no separator: FISCAL_CODE_IN_TEXT's business
  const digits = DIGIT_POSITIONS.map((i) => /\d/.test(cf[i]!));
  if (!digits.every((d, i) => d || !digits.slice(i + 1).some(Boolean))) return false;
  // All seven replaced is legal but rare, and a run of short words can take that shape: ask
  // the control character to agree before masking it.
  const upper = cf.toUpperCase();
  return digits[0]! || fiscalCodeCheckChar(upper.slice(0, 15)) === upper[15];
}
/** "RSS MRA 80A01 H501U" → "RSS *** ***** ****U": masked like maskFiscalCode, separators kept. */
function maskGroupedFiscalCode(m: string): string {
  let seen = 0;
  const total = m.replace(/[ -]/g, '').length;
  return m.replace(/[^ -]/g, (c) => (++seen <= 3 || seen === total ? c : '*'));
}

// Phone numbers with at least 8 digits, separators allowed between digits:
//  - international: +CC or 00CC then 8..14 more digits (+39 333 123 4567, 0039 333...);
//  - Italian mobile: 3xx then 6..7 more digits (333 123 4567, 333/1234567);
//  - Italian landline: 0x then 6..9 more digits (06 1234 5678, 02-12345678);
//  - a mobile prefix set apart: "333 - 1234567", "(333) 1234567";
//  - either of the first two after a bare 39, the form WhatsApp's wa_id, `to` and `recipient_id` carry
//    (393331234567): an Italian number written without + or 00.
// Boundaries: never start after a word char, a "+", "hexdigit-" (UUID groups) or "digit.",
// and never stop before a word char, "-hexdigit" or ".digit", so a number is never cut out
// of a longer code.
const SEP = '[ ./-]?';
const PHONE_BODY = [
  `(?:\\+|00)[1-9](?:${SEP}\\(?\\d\\)?){7,13}`,
  `3\\d{2}(?:${SEP}\\d){6,7}`,
  `0\\d(?:${SEP}\\d){6,9}`,
  // the prefix set apart as back-office forms often write it: "333 - 1234567", "(333) 1234567".
  `3\\d{2} [-/] \\d{6,7}`,
  `\\(3\\d{2}\\) ?\\d{6,7}`,
  `39${SEP}3\\d{2}(?:${SEP}\\d){6,7}`,
  `39${SEP}0\\d(?:${SEP}\\d){6,9}`,
].join('|');
// An Italian mobile, or any number written with its "+", glued to a label ("tel3331234567",
// "p_393330000101", "tel+441632960961"): allowed only after a run of letters/underscores that
// starts a token, never inside a code holding other digits (ULIDs, hex ids) nor in a UUID's
// last group. Not landlines: "0" + digits glued to letters is how zero-padded record keys
// look ("PRAT00012345"), and an error must still name its row. The lookahead comes first so
// the run is only walked back from a "3" or "+": tried at every position, it made long letter
// runs quadratic.
const GLUED_MOBILE = `(?=\\+|3)(?<=(?<![A-Za-z0-9])(?<![0-9A-Fa-f]-)[A-Za-z_]+)(?:(?:\\+39${SEP}|39${SEP})?3\\d{2}(?:${SEP}\\d){6,7}|\\+[1-9](?:${SEP}\\(?\\d\\)?){7,13})`;
const PHONE_IN_TEXT = new RegExp(
  `(?:(?<![\\w+])(?<![0-9A-Fa-f]-)(?<!\\d\\.)(?:${PHONE_BODY})|${GLUED_MOBILE})(?!\\w)(?!-[0-9A-Fa-f])(?!\\.\\d)`,
  'g',
);
// Dates (01-12-2026, 2026.11.24) and dotted amounts (300.000.000) can look like phones.
const NOT_A_PHONE = /^(?:\d{1,2}([./-])\d{1,2}\1\d{2,4}|\d{4}([./-])\d{1,2}\2\d{1,2}|\d{1,3}(?:\.\d{3})+)$/;

/** "RSSMRA85T10A562S" → "RSS************S": keeps the first 3 and the last character. */
export function maskFiscalCode(cf: string): string {
  if (cf.length < 8) return '*'.repeat(cf.length);
  return cf.slice(0, 3) + '*'.repeat(cf.length - 4) + cf.slice(-1);
}

/** "+39 333 123 4567" → "+39********67": keeps an international prefix and the last 2 digits. */
export function maskPhone(p: string): string {
  const compact = p.replace(/[^\d+]/g, '');
  const prefix = /^(?:\+|00)\d{2}/.exec(compact)?.[0] ?? '';
  const digits = compact.slice(prefix.length).replace(/\D/g, '');
  if (digits.length < 4) return prefix + '*'.repeat(digits.length);
  return prefix + '*'.repeat(digits.length - 2) + digits.slice(-2);
}

/** Whether `s` holds something maskText would mask as a phone number. */
export function hasPhoneNumber(s: string): boolean {
  for (const m of s.matchAll(PHONE_IN_TEXT)) if (!NOT_A_PHONE.test(m[0])) return true;
  return false;
}

/** Masks every fiscal-code-shaped token and phone number found in `s`, and any secret (mask-secrets.ts). */
export function maskText(s: string): string {
  return maskSecrets(s)
    .replace(FISCAL_CODE_IN_TEXT, maskFiscalCode)
    .replace(GROUPED_FISCAL_CODE_IN_TEXT, (m) => (isGroupedFiscalCode(m) ? maskGroupedFiscalCode(m) : m))
    .replace(PHONE_IN_TEXT, (m) => (NOT_A_PHONE.test(m) ? m : maskPhone(m)));
}

// Deeper than this, values are replaced: pino would not print them anyway, and walking
// large graphs (sockets inside HTTP errors) on every log call is wasteful.
const MAX_DEPTH = 10;

/**
 * For output that promises to show a whole document (`ponte poll --dry-run`: the exact requests).
 * A WhatsApp template's parameters sit 11 levels down in a dry-run report, past MAX_DEPTH; this
 * leaves room for any request body while still bounding a pathological structure.
 */
export const WHOLE_DOCUMENT_DEPTH = 64;

/**
 * A copy of `value` with maskText applied to every string (keys included). Never mutates
 * the input; cycles and shared references are kept; Errors stay Errors (same prototype)
 * with message, stack and own properties masked; objects with toJSON (Date, Buffer ...)
 * are replaced by their masked JSON form.
 */
export function maskDeep<T>(value: T, opts: { maxDepth?: number } = {}): T {
  return walk(value, new Map(), 0, opts.maxDepth ?? MAX_DEPTH) as T;
}

function walk(value: unknown, seen: Map<object, unknown>, depth: number, maxDepth: number): unknown {
  if (typeof value === 'string') return maskText(value);
  if (typeof value !== 'object' || value === null) return value;
  const done = seen.get(value);
  if (done !== undefined) return done;
  if (depth >= maxDepth) return '[Too deep]';

  if (Array.isArray(value)) {
    const out: unknown[] = [];
    seen.set(value, out);
    for (const item of value) out.push(walk(item, seen, depth + 1, maxDepth));
    return out;
  }
  if (isHttpClientError(value)) {
    const out = walk(httpErrorSummary(value), seen, depth, maxDepth);
    seen.set(value, out);
    return out;
  }
  if (value instanceof Error) {
    const out = Object.create(Object.getPrototypeOf(value)) as Record<string, unknown>;
    seen.set(value, out);
    for (const key of Object.getOwnPropertyNames(value)) {
      const enumerable = Object.getOwnPropertyDescriptor(value, key)?.enumerable ?? false;
      const raw = (value as unknown as Record<string, unknown>)[key];
      const v = secretValueFor(key, raw) ?? walk(raw, seen, depth + 1, maxDepth);
      Object.defineProperty(out, maskText(key), { value: v, enumerable, writable: true, configurable: true });
    }
    return out;
  }
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  let json: unknown = value;
  try {
    if (typeof toJSON === 'function') json = toJSON.call(value);
  } catch {
    // a broken toJSON must not break logging: fall back to the own properties
  }
  if (json !== value) {
    const out = walk(json, seen, depth, maxDepth);
    seen.set(value, out);
    return out;
  }
  const out: Record<string, unknown> = {};
  seen.set(value, out);
  for (const [k, v] of Object.entries(value)) out[maskText(k)] = secretValueFor(k, v) ?? walk(v, seen, depth + 1, maxDepth);
  return out;
}
