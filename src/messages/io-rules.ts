// IO's content rules, checked before sending: IO rejects bad lengths with a 400, and the
// no-personal-data-in-the-subject rule (AgID guidelines art. 7.3) IO cannot check at all.
// Violations never quote the offending text: they may end up in logs and in the store.
import { FISCAL_CODE_SHAPE } from '../util/fiscal-code.js';
import { hasPhoneNumber } from '../util/mask.js';

/** Inclusive bounds, in UTF-16 code units (JS .length), as IO's codecs count. */
export const IO_SUBJECT_LENGTH = { min: 10, max: 120 } as const;
export const IO_MARKDOWN_LENGTH = { min: 80, max: 10000 } as const;

export interface IoRuleOptions {
  /** Values that must not appear in the subject (citizen's name, plate ...), any case. */
  personalValues?: string[];
}

const ALNUM_BEFORE = '(?<![\\p{L}\\p{N}])';
const ALNUM_AFTER = '(?![\\p{L}\\p{N}])';
const FISCAL_CODE_TOKEN = new RegExp(`${ALNUM_BEFORE}${FISCAL_CODE_SHAPE}${ALNUM_AFTER}`, 'iu');
// Italian plates since 1994: AA 000 AA; I, O, Q and U are never used. Compact "AB123CD" in any
// case; the spaced form only in upper case, so words like "le 100 ed" are not taken for plates.
const PLATE_LETTER = '[A-HJ-NPR-TV-Z]';
const PLATE_COMPACT = new RegExp(`${ALNUM_BEFORE}${PLATE_LETTER}{2}\\d{3}${PLATE_LETTER}{2}${ALNUM_AFTER}`, 'iu');
const PLATE_SPACED = new RegExp(`${ALNUM_BEFORE}${PLATE_LETTER}{2} ?\\d{3} ?${PLATE_LETTER}{2}${ALNUM_AFTER}`, 'u');

function lengthRule(part: string, text: string, { min, max }: { min: number; max: number }): string | null {
  const n = text.length;
  if (n >= min && n <= max) return null;
  return `${part} is ${n} characters long; IO requires ${min} to ${max} (UTF-16 code units)`;
}

/**
 * A value and the subject compared as a reader sees them: a filter may have written the stored
 * "ROSSI NICCOLO'" as "Rossi Niccolò" and "IN_ISTRUTTORIA" as "in istruttoria" (| name, | label),
 * so case, accents, apostrophes and underscores are set aside on both sides.
 */
function fold(text: string): string {
  // Plain ASCII letters, digits and spaces (most names and codes) need only the lower case.
  if (/^[A-Za-z0-9 .,:;()+-]*$/.test(text)) return text.toLowerCase();
  return text.normalize('NFD').replace(/\p{M}/gu, '').replace(/['’`]/g, '').replace(/_/g, ' ').toLowerCase();
}

// An event type's subject is usually the same text for every event: folded once.
const foldedSubjects = new Map<string, string>();
function foldSubject(subject: string): string {
  let folded = foldedSubjects.get(subject);
  if (folded === undefined) {
    folded = fold(subject);
    if (foldedSubjects.size >= 1000) foldedSubjects.clear();
    foldedSubjects.set(subject, folded);
  }
  return folded;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// IO renders a subset of markdown (appio.md §5): HTML shows as its raw text. The tags a template
// or a back-office value would plausibly carry, so "importo < 10" is not taken for one.
const HTML_TAG = /<\/?(?:a|b|i|u|s|p|br|hr|em|strong|span|div|font|ul|ol|li|h[1-6]|img|table|tr|td|th)\b[^<>]*>/i;
// A link's target: [text](target) or <target>, and any bare http:// address in the text.
const LINK_TARGET = /\]\(\s*<?([^)\s>]*)|<([a-z][a-z0-9+.-]*:[^>\s]*)>/gi;
const PLAIN_HTTP = /(?<![\p{L}\p{N}/])http:\/\//iu;
// What IO opens: https pages, and the handled links of its CTA syntax (https, mail, phone, SMS).
const IO_LINK = /^(?:https:\/\/\S|(?:iohandledlink:\/\/)?(?:https:\/\/\S|mailto:|tel:|sms:))/i;

// A backslash-escaped character is literal text, never markup (render.ts escapes every value so):
// the checks see it as a private-use stand-in, and a link target reads it back as the character
// IO's parser does ("https\://…" in a value is no link; "[x](https://…/a\_b)" links to a_b).
const ESCAPED = /\\([!-/:-@[-`{-~])/g;
const STAND_IN = 0xe000;
const hideEscaped = (markdown: string): string =>
  markdown.includes('\\') ? markdown.replace(ESCAPED, (_, c: string) => String.fromCharCode(STAND_IN + c.charCodeAt(0))) : markdown;
const unhide = (text: string): string => text.replace(/[\ue000-\ue07f]/g, (c) => String.fromCharCode(c.charCodeAt(0) - STAND_IN));

function linkRules(source: string): string[] {
  const out: string[] = [];
  const markdown = hideEscaped(source);
  // Most messages have neither a tag nor a link: the substring tests spare them the patterns.
  const angle = markdown.includes('<');
  if (angle && HTML_TAG.test(markdown)) out.push('markdown contains an HTML tag: IO does not render HTML, the citizen would see it as text (use **bold**, *italic*, lists)');
  const bad = angle || markdown.includes('](') ? [...markdown.matchAll(LINK_TARGET)].map((m) => unhide(m[1] ?? m[2] ?? '')).filter((t) => !IO_LINK.test(t)) : [];
  if (bad.length || (/http:/i.test(markdown) && PLAIN_HTTP.test(markdown))) {
    out.push('markdown has a link that is not an absolute https:// address (relative, http:// or empty): it would not open from the IO app');
  }
  return out;
}

/** The rules `msg` breaks, one clear sentence each; empty when IO would accept it. */
export function checkIoMessage(msg: { subject: string; markdown: string }, opts: IoRuleOptions = {}): string[] {
  const violations: string[] = [];
  const subjectLength = lengthRule('subject', msg.subject, IO_SUBJECT_LENGTH);
  if (subjectLength) violations.push(subjectLength);
  const markdownLength = lengthRule('markdown', msg.markdown, IO_MARKDOWN_LENGTH);
  if (markdownLength) violations.push(markdownLength);
  violations.push(...linkRules(msg.markdown));

  const noPersonalData = 'personal data is not allowed in the IO subject (AgID guidelines art. 7.3)';
  if (FISCAL_CODE_TOKEN.test(msg.subject)) violations.push(`subject contains a fiscal code: ${noPersonalData}`);
  if (PLATE_COMPACT.test(msg.subject) || PLATE_SPACED.test(msg.subject)) {
    violations.push(`subject contains a vehicle plate: ${noPersonalData}`);
  }
  // The citizen's number (a template filled from the back-office's telefono column); the office's
  // own number belongs in the markdown too, where it can be tapped.
  if (hasPhoneNumber(msg.subject)) violations.push(`subject contains a phone number: ${noPersonalData}`);
  const values = opts.personalValues ?? [];
  const subjectLower = values.length ? foldSubject(msg.subject) : '';
  values.forEach((raw, i) => {
    const value = fold(raw).trim();
    // Shorter values ("Li", initials) would match ordinary words.
    if (value.length < 3) return;
    // Compiling a Unicode pattern per value is the hot spot of a big poll: most values are
    // nowhere in the subject, which a plain substring test shows first.
    if (!subjectLower.includes(value.split(/\s+/)[0]!)) return;
    const re = new RegExp(`${ALNUM_BEFORE}${escapeRegExp(value).replace(/\s+/g, '\\s+')}${ALNUM_AFTER}`, 'iu');
    if (re.test(subjectLower)) {
      violations.push(`subject contains personal value #${i + 1} (${raw.trim().length} characters): ${noPersonalData}`);
    }
  });
  return violations;
}
