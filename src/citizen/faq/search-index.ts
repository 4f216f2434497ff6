// The MiniSearch (BM25+) index over the FAQ: one document per entry, so a term's IDF counts
// entries, not phrasings (a term repeated in all five variants of faq:tari is not "common").
// MiniSearch does no stemming: tokenize runs the whole of normalise.ts (it needs neighbouring
// words for the pairs, which processTerm never sees), so processTerm has nothing left to do.
import MiniSearch, { type SearchOptions } from 'minisearch';
import { isPair, PAIR_MARK, terms, type Vocabulary } from './normalise.js';
import type { FaqEntry } from './schema.js';

interface FaqDocument {
  id: string;
  question: string;
  variants: string;
  keywords: string;
}

// The question is how staff name the topic, so it weighs more than a variant. Keywords are words
// that alone point to one entry (config/faq.yaml says so): a message that is just "cila" or
// "loculo" should clear the threshold, a lone word shared with a variant should not.
const BOOST = { question: 1.5, variants: 1, keywords: 3 };

// Typos ("residensa", "eletorale") are one edit on a stem of 5+ letters; shorter stems
// ("tari", "imu", "cie") get no fuzziness, or "tari" would also find "tar…" words. A pair gets one
// edit (a typo in either word), not 20 % of its length, or "~port~cart" would find "~furt~cart";
// and only when both its words are long enough to take a typo alone, or "~can~smarr" (il cane…
// perso) would find "~cas~smarr" (in caso di smarrimento) in faq:cie-smarrimento.
const typoLength = 5;
const fuzzy = (term: string): number | false =>
  isPair(term) ? (term.split(PAIR_MARK).slice(1).every((w) => w.length >= typoLength) ? 1 : false) : term.length >= typoLength ? 0.2 : false;

// A prefix hit covers stems Snowball cut differently ("scaduta" → scad, "scadenza" → scadenz);
// from 4 letters, so "ora" does not match "orar…" and every other o-word. Never for pairs.
const prefix = (term: string): boolean => !isPair(term) && term.length >= 4;

const SEARCH_OPTIONS: SearchOptions = { boost: BOOST, fuzzy, prefix, combineWith: 'OR' };

export function buildIndex(entries: readonly FaqEntry[], vocabulary: Vocabulary): MiniSearch<FaqDocument> {
  const index = new MiniSearch<FaqDocument>({
    fields: ['question', 'variants', 'keywords'],
    tokenize: (text) => terms(text, vocabulary),
    processTerm: (term) => term,
    searchOptions: SEARCH_OPTIONS,
  });
  index.addAll(
    entries.map((e) => ({
      id: e.id,
      question: e.question,
      // One line per variant or keyword: word pairs are made within a line only.
      variants: e.variants.join('\n'),
      keywords: e.keywords.join('\n'),
    })),
  );
  return index;
}
