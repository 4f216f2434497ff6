// Answering free text from the FAQ (citizen-service.md §4 rule 5): the best entry is answered only
// when it is both strong enough (score ≥ threshold) and clearly ahead of the best *other* entry
// (margin); otherwise the caller shows topics or offers an operator, and may offer `search`'s
// top hits as "did you mean".
import type MiniSearch from 'minisearch';
import { queryTerms, type Vocabulary } from './normalise.js';
import type { FaqEntry, FaqFile } from './schema.js';
import { buildIndex } from './search-index.js';

export interface FaqHit {
  entry: FaqEntry;
  /** BM25+ score (MiniSearch): comparable between entries for one question, not across questions. */
  score: number;
}

export interface FaqMatch extends FaqHit {
  /** Above the threshold and ahead of runnerUp by the margin: safe to send without asking. */
  confident: boolean;
  /** The best entry other than `entry`, or null when no other entry matched at all. */
  runnerUp: FaqHit | null;
}

export class Faq {
  readonly version: string;
  readonly threshold: number;
  readonly margin: number;
  readonly entries: readonly FaqEntry[];
  readonly #byId: ReadonlyMap<string, FaqEntry>;
  readonly #vocabulary: Vocabulary;
  readonly #index: MiniSearch;

  /** `vocabulary` comes from checkFaq(file): build through loadFaq/parseFaq, which check the file first. */
  constructor(file: FaqFile, vocabulary: Vocabulary) {
    this.version = file.version;
    this.threshold = file.threshold;
    this.margin = file.margin;
    this.entries = file.entries;
    this.#byId = new Map(file.entries.map((e) => [e.id, e]));
    this.#vocabulary = vocabulary;
    this.#index = buildIndex(file.entries, vocabulary);
  }

  get(id: string): FaqEntry | undefined {
    return this.#byId.get(id);
  }

  /** Every entry sharing a term with `text`, best first (empty when nothing matches). */
  search(text: string): FaqHit[] {
    const terms = queryTerms(text, this.#vocabulary);
    if (terms.length === 0) return [];
    // De-duplicated here, or "polizia municipale" (both → vigil) would count twice.
    const results = this.#index.search(text, { tokenize: () => terms, processTerm: (t) => t });
    return results.map((r) => ({ entry: this.#byId.get(String(r.id))!, score: r.score }));
  }

  /** The best entry for `text` with its confidence, or null when no entry shares a term with it. */
  answer(text: string): FaqMatch | null {
    const [best, runnerUp = null] = this.search(text);
    if (!best) return null;
    // Strictly ahead: two entries that tie are a guess even with margin 0.
    const ahead = runnerUp === null || best.score > runnerUp.score * (1 + this.margin);
    return { ...best, confident: best.score >= this.threshold && ahead, runnerUp };
  }
}
