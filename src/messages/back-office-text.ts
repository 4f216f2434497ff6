// Back-office text made fit for a sentence. Many back-offices store names in capitals and write
// accents as an apostrophe (NICCOLO', ATTIVITA'), a habit of keyboards and fixed-width systems
// without accented capitals; their statuses are codes (IN_ISTRUTTORIA).

const ACCENTED: Record<string, string> = { a: 'à', e: 'è', i: 'ì', o: 'ò', u: 'ù', A: 'À', E: 'È', I: 'Ì', O: 'Ò', U: 'Ù' };

/**
 * "NICCOLO'" → "NICCOLÒ": a vowel with an apostrophe ending a word is an accented vowel, except
 * in "DE'" ("De' Medici"), where the apostrophe stands for the elided "dei".
 */
function apostropheAccents(text: string): string {
  return text.replace(/(?<![\p{L}\p{N}])(de)['’`](?=\s)|([aeiouAEIOU])['’`](?=$|[^\p{L}\p{N}])/giu, (whole, de: string | undefined, v: string | undefined) => (de ? whole : ACCENTED[v!]!));
}

const hasUpper = (s: string) => /\p{Lu}/u.test(s);
const hasLower = (s: string) => /\p{Ll}/u.test(s);

/**
 * A person's name: "ROSSI NICCOLO'" → "Rossi Niccolò", "D'ANGELO" → "D'Angelo", "anna-maria" →
 * "Anna-Maria". A name already in mixed case is the back-office's own spelling ("McEwan"): kept.
 */
export function personName(value: string, locale: string): string {
  const text = apostropheAccents(value).trim().replace(/\s+/g, ' ');
  if (hasUpper(text) && hasLower(text)) return text;
  return text.toLocaleLowerCase(locale).replace(/(^|[\s\-'’.])(\p{L})/gu, (_, before: string, letter: string) => before + letter.toLocaleUpperCase(locale));
}

/** A status or code for a sentence: "IN_ISTRUTTORIA" → "in istruttoria", "ATTIVITA' SOSPESA" → "attività sospesa". */
export function codeLabel(value: string, locale: string): string {
  const text = apostropheAccents(value).replace(/_+/g, ' ').trim().replace(/\s+/g, ' ');
  return hasLower(text) ? text : text.toLocaleLowerCase(locale);
}
