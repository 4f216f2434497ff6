// Checks of config/faq.yaml that need more than one field: unique ids, phrasings that still have
// a searchable word once stop words are gone (otherwise the entry can never be found by them),
// answers that fit a WhatsApp body with their links, and single-word synonyms and stop words, with
// no word in two synonym groups.
import { formatAnswer } from './format.js';
import { inflectionStem, splitWords, termOf, wordTerms, type Vocabulary } from './normalise.js';
import { ANSWER_MAX, type FaqFile } from './schema.js';

export interface Problem {
  path: PropertyKey[];
  message: string;
}

export interface Checked {
  problems: Problem[];
  vocabulary: Vocabulary;
}

const quote = (s: string) => JSON.stringify(s.length > 40 ? `${s.slice(0, 37)}...` : s);

/** The folded word, or a problem when `text` is not exactly one word. */
function oneWord(text: string, path: PropertyKey[], problems: Problem[]): string | null {
  const words = splitWords(text);
  if (words.length === 1) return words[0]!;
  problems.push({ path, message: `one word only: ${quote(text)} has ${words.length}` });
  return null;
}

function stopWordSet(words: string[], problems: Problem[]): Set<string> {
  const set = new Set<string>();
  words.forEach((w, i) => {
    const word = oneWord(w, ['stopWords', i], problems);
    if (word !== null) set.add(word);
  });
  return set;
}

function synonymMap(groups: string[][], stopWords: ReadonlySet<string>, problems: Problem[]): Map<string, string> {
  const plain: Vocabulary = { synonyms: new Map(), stopWords };
  const map = new Map<string, string>();
  const groupOf = new Map<string, number>();
  groups.forEach((group, g) => {
    let canonical: string | null = null;
    group.forEach((text, w) => {
      const at = ['synonyms', g, w];
      const word = oneWord(text, at, problems);
      if (word === null) return;
      const term = termOf(word, plain);
      if (term === null) return problems.push({ path: at, message: `${quote(text)} is a stop word and is never searched` });
      const other = groupOf.get(term);
      if (other !== undefined && other !== g) {
        return problems.push({ path: at, message: `${quote(text)} is already in synonyms[${other}] (same stem "${term}"); a word belongs to one group` });
      }
      groupOf.set(term, g);
      canonical ??= term;
      if (term !== canonical) map.set(term, canonical);
    });
  });
  return map;
}

/** Each listed synonym, as an inflection stem, → the term its group is searched as (for keywords). */
function synonymWords(groups: string[][], synonyms: ReadonlyMap<string, string>, stopWords: ReadonlySet<string>): Map<string, string> {
  const plain: Vocabulary = { synonyms, stopWords };
  const words = new Map<string, string>();
  for (const word of groups.flat().flatMap((text) => splitWords(text))) {
    const term = termOf(word, plain);
    if (term !== null) words.set(inflectionStem(word), term);
  }
  return words;
}

export function checkFaq(file: FaqFile): Checked {
  const problems: Problem[] = [];
  const stopWords = stopWordSet(file.stopWords, problems);
  const synonyms = synonymMap(file.synonyms, stopWords, problems);
  const vocabulary: Vocabulary = { synonyms, synonymWords: synonymWords(file.synonyms, synonyms, stopWords), stopWords };
  const firstIndex = new Map<string, number>();

  file.entries.forEach((entry, i) => {
    const at = (...path: PropertyKey[]) => ['entries', i, ...path];
    const seen = firstIndex.get(entry.id);
    if (seen !== undefined) problems.push({ path: at('id'), message: `duplicate id "${entry.id}" (also entries[${seen}].id)` });
    else firstIndex.set(entry.id, i);

    const searchable = (text: string, path: PropertyKey[]) => {
      if (wordTerms(text, vocabulary).length === 0) {
        problems.push({ path, message: `${quote(text)} has no searchable word once stop words are removed` });
      }
    };
    searchable(entry.question, at('question'));
    entry.variants.forEach((v, j) => searchable(v, at('variants', j)));
    entry.keywords.forEach((k, j) => searchable(k, at('keywords', j)));

    const length = formatAnswer(entry).length;
    if (entry.answer.length <= ANSWER_MAX && length > ANSWER_MAX) {
      problems.push({ path: at('links'), message: `the answer with its links has ${length} characters, at most ${ANSWER_MAX} (a WhatsApp reply-button body)` });
    }
  });

  return { problems, vocabulary };
}
