// Answering free text from the FAQ (citizen-service.md §4 rule 5): the best entry is answered only
// when it is both strong enough (score ≥ threshold) and clearly ahead of the best *other* entry
// (margin; just ahead when both matched the same words of the message), and rests on more than
// one word unless that word is one of its keywords; otherwise the caller shows topics or offers an
// operator, and may offer `search`'s top hits as "did you mean".
import type MiniSearch from 'minisearch';
import { isPair, keywordTermOf, queryTerms, splitWords, termOf, type Vocabulary } from './normalise.js';
import type { FaqEntry, FaqFile } from './schema.js';
import { buildIndex } from './search-index.js';

export interface FaqHit {
  entry: FaqEntry;
  /** BM25+ score (MiniSearch): comparable between entries for one question, not across questions. */
  score: number;
}

export interface FaqMatch extends FaqHit {
  /** Above the threshold and ahead of runnerUp by the margin (see answer): safe to send without asking. */
  confident: boolean;
  /** The best entry other than `entry`, or null when no other entry matched at all. */
  runnerUp: FaqHit | null;
}

/**
 * Whether two hits matched exactly the same words and pairs of the question. The margin is there
 * for a message that points to two entries with different words of it; when both matched the very
 * same words, nothing in the message tells them apart any better, and the higher score says which
 * entry those words are more central to. "carta d'identità" matches faq:cie (in its question and
 * three variants) and faq:cie-smarrimento (question and one variant) alike, 97.7 to 89.3: with the
 * margin it was never answered, although the general entry is plainly what a bare topic asks for.
 */
function sameWords(a: { matched: string[] }, b: { matched: string[] }): boolean {
  return a.matched.length === b.matched.length && b.matched.every((t) => a.matched.includes(t));
}

export class Faq {
  readonly version: string;
  readonly threshold: number;
  readonly margin: number;
  readonly entries: readonly FaqEntry[];
  readonly #byId: ReadonlyMap<string, FaqEntry>;
  readonly #vocabulary: Vocabulary;
  readonly #index: MiniSearch;
  /** Per entry id, its keywords as keywordTermOf gives them. */
  readonly #keywordTerms: ReadonlyMap<string, ReadonlySet<string>>;

  /** `vocabulary` comes from checkFaq(file): build through loadFaq/parseFaq, which check the file first. */
  constructor(file: FaqFile, vocabulary: Vocabulary) {
    this.version = file.version;
    this.threshold = file.threshold;
    this.margin = file.margin;
    this.entries = file.entries;
    this.#byId = new Map(file.entries.map((e) => [e.id, e]));
    this.#vocabulary = vocabulary;
    this.#index = buildIndex(file.entries, vocabulary);
    this.#keywordTerms = new Map(
      file.entries.map((e) => [e.id, new Set(e.keywords.flatMap((k) => splitWords(k).flatMap((w) => keywordTermOf(w, vocabulary) ?? [])))]),
    );
  }

  get(id: string): FaqEntry | undefined {
    return this.#byId.get(id);
  }

  /** Every entry sharing a term with `text`, best first (empty when nothing matches). */
  search(text: string): FaqHit[] {
    return this.#search(text).map(({ entry, score }) => ({ entry, score }));
  }

  /** The best entry for `text` with its confidence, or null when no entry shares a term with it. */
  answer(text: string): FaqMatch | null {
    const [best, runnerUp = null] = this.#search(text);
    if (!best) return null;
    // Strictly ahead: two entries that tie are a guess even with margin 0.
    const ahead = runnerUp === null || best.score > runnerUp.score * (1 + (sameWords(best, runnerUp) ? 0 : this.margin));
    const confident = best.score >= this.threshold && ahead && !this.#restsOnAStemAlone(text, best);
    return { entry: best.entry, score: best.score, confident, runnerUp: runnerUp && { entry: runnerUp.entry, score: runnerUp.score } };
  }

  /** The hits with the question's terms each one matched (words and pairs, as queryTerms gives them). */
  #search(text: string): Array<FaqHit & { matched: string[] }> {
    const terms = queryTerms(text, this.#vocabulary);
    if (terms.length === 0) return [];
    // De-duplicated here, or "polizia municipale" (both → vigil) would count twice.
    const results = this.#index.search(text, { tokenize: () => terms, processTerm: (t) => t });
    return results.map((r) => ({ entry: this.#byId.get(String(r.id))!, score: r.score, matched: r.queryTerms }));
  }

  /**
   * A keyword lifts a lone word over the threshold (3× a variant) and is found by its Snowball
   * stem, by prefix and by typo. That is right for "loculi" or "ho smarrito la cie", but a lone
   * word that only shares the stem is a guess: "fermiate" (you stop) met the keyword "fermate" (bus
   * stops) and "carro" (attrezzi) the keyword "carrabile", each answered confidently with nothing
   * else in the message behind it. So a hit on one word alone is confident only when that word is
   * one of the entry's keywords, up to inflection ("loculi" for "loculo").
   */
  #restsOnAStemAlone(text: string, hit: { entry: FaqEntry; matched: string[] }): boolean {
    const [only, ...others] = hit.matched;
    if (only === undefined || others.length > 0 || isPair(only)) return false;
    const keywords = this.#keywordTerms.get(hit.entry.id)!;
    const asWritten = splitWords(text).filter((w) => termOf(w, this.#vocabulary) === only);
    return !asWritten.some((w) => keywords.has(keywordTermOf(w, this.#vocabulary)!));
  }
}
