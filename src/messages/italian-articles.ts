// Italian elides the article before a number read with a vowel: "l'8 dicembre", "dall'11 marzo",
// never "il 8" or "dal 11". A template writes "scade il {{ due | date }}" for every date, so the
// rendered text is put right here, where the date and the word before it meet.

const MONTHS = 'gennaio|febbraio|marzo|aprile|maggio|giugno|luglio|agosto|settembre|ottobre|novembre|dicembre';
const ELIDED: Record<string, string> = { il: "l'", del: "dell'", dal: "dall'", al: "all'", nel: "nell'", sul: "sull'" };
// The word, the space, any markdown emphasis opening the date ("il **8 dicembre**"), the day.
const BEFORE_DAY = new RegExp(`(?<![\\p{L}\\p{N}'’])(il|del|dal|al|nel|sul)\\s+([*_]{0,3})(8|11)(?=\\s+(?:${MONTHS})(?![\\p{L}]))`, 'giu');

/** "scade il **8 dicembre 2026**" → "scade l'**8 dicembre 2026**"; "Dal 11 marzo" → "Dall'11 marzo". */
export function elideBeforeDays(text: string): string {
  return text.replace(BEFORE_DAY, (_, word: string, emphasis: string, day: string) => {
    const elided = ELIDED[word.toLowerCase()]!;
    const cased = word[0] === word[0]!.toUpperCase() ? elided[0]!.toUpperCase() + elided.slice(1) : elided;
    return `${cased}${emphasis}${day}`;
  });
}
