// Text → search terms, the same way for FAQ entries and for what citizens write, so "Perché la
// TARI è scaduta?" and "perche tari scaduta" meet: lower-case, accents folded, punctuation and
// apostrophes as spaces, stop words out, Italian Snowball stem, then the file's synonyms; plus
// each pair of neighbouring terms, so "carta d'identità" (~cart~ident) outweighs "carta" alone
// (paper collection) and "carta di identita" still meets it.
import { stemmer } from '@orama/stemmers/italian';
import { STOP_WORDS } from './stopwords.js';

/** What a FAQ file adds to the built-in rules: synonyms (stem → stem searched instead) and stop words. */
export interface Vocabulary {
  synonyms: ReadonlyMap<string, string>;
  /**
   * The words listed in synonym groups, as inflection stems → their group's term. Only these, not
   * every word sharing a listed word's Snowball stem: for keywords ("perso" lists "persa", not "persona").
   */
  synonymWords?: ReadonlyMap<string, string>;
  /** Folded words never searched, such as the comune's name, which citizens write about anything. */
  stopWords: ReadonlySet<string>;
}

export const NO_VOCABULARY: Vocabulary = { synonyms: new Map(), stopWords: new Set() };

/**
 * A pair is written "~cart~ident": it cannot clash with a word (splitWords never yields "~"), and
 * a word's prefix search ("cart…") does not reach the pairs that start with it.
 */
export const PAIR_MARK = '~';
export const isPair = (term: string): boolean => term.startsWith(PAIR_MARK);

/** Lower-case without diacritics: citizens type "perche", "perchè" and "perché" for the same word. */
export function foldAccents(text: string): string {
  return text.normalize('NFD').replace(/\p{M}+/gu, '').toLowerCase();
}

/**
 * Folded words; apostrophes split ("dell'anagrafe" → dell, anagrafe), "e-mail" → e, mail. Modifier
 * letters split too: U+02BC "ʼ", which some keyboards type for the apostrophe, is a letter to
 * Unicode, and "dʼidentità" would stay one word that matches nothing.
 */
export function splitWords(text: string): string[] {
  return foldAccents(text)
    .split(/(?:[^\p{L}\p{N}]|\p{Lm})+/u)
    .filter(Boolean);
}

/**
 * Snowball leaves the hard-c/g plurals apart ("buca" → buc, "buche" → buch; "luogo" → luog,
 * "luoghi" → luogh): the h only marks pronunciation, so it is dropped to join the two forms.
 */
export function stem(word: string): string {
  const s = stemmer(word);
  return /[cg]h$/.test(s) ? s.slice(0, -1) : s;
}

/** One folded word → its search term, or null for stop words and single letters. */
export function termOf(word: string, vocabulary: Vocabulary = NO_VOCABULARY): string | null {
  if (word.length < 2 || STOP_WORDS.has(word) || vocabulary.stopWords.has(word)) return null;
  // Numbers (years, 112) are kept whole: stemming "2027" means nothing.
  const t = /^\p{N}+$/u.test(word) ? word : stem(word);
  return vocabulary.synonyms.get(t) ?? t;
}

/**
 * Only the inflection off: the final vowel, an -i- before it (-io/-ia: "orario"/"orari") and the
 * hard-c/g h ("buca"/"buche"). Snowball goes further and takes derivations off too: "fermate"
 * (bus stops) and "fermiate" (you stop) both become "ferm", "smarrimento" and "smarrito" both
 * "smarr". Snowball still ranks; this stricter form decides whether a message resting on one
 * word names a keyword of the entry (Faq.answer).
 * Words of 3 letters or fewer are kept whole ("cie", "imu", "f24").
 */
export function inflectionStem(word: string): string {
  if (word.length <= 3 || /^\p{N}+$/u.test(word)) return word;
  return word.replace(/[aeiou]$/, '').replace(/i$/, '').replace(/([cg])h$/, '$1');
}

/**
 * A word as a keyword: its inflection stem, or its group's term when the word itself is listed in
 * a synonym group (the file says those words are interchangeable). Null for the words termOf drops.
 */
export function keywordTermOf(word: string, vocabulary: Vocabulary = NO_VOCABULARY): string | null {
  if (termOf(word, vocabulary) === null) return null;
  const t = inflectionStem(word);
  return vocabulary.synonymWords?.get(t) ?? t;
}

/** The single-word terms of `text`, in order, repeats kept (the index counts term frequency). */
export function wordTerms(text: string, vocabulary: Vocabulary = NO_VOCABULARY): string[] {
  return splitWords(text).flatMap((w) => termOf(w, vocabulary) ?? []);
}

/**
 * Word terms plus neighbour pairs, line by line: the variants of an entry are indexed as one
 * field with one variant per line, and a pair across two variants would be a phrase nobody wrote.
 */
export function terms(text: string, vocabulary: Vocabulary = NO_VOCABULARY): string[] {
  return text.split('\n').flatMap((line) => {
    const words = wordTerms(line, vocabulary);
    const pairs = words.slice(1).map((w, i) => `${PAIR_MARK}${words[i]}${PAIR_MARK}${w}`);
    return [...words, ...pairs];
  });
}

/** The distinct search terms of a question: a word said twice should not count twice. */
export function queryTerms(text: string, vocabulary: Vocabulary = NO_VOCABULARY): string[] {
  return [...new Set(terms(text.replace(/\n/g, ' '), vocabulary))];
}
