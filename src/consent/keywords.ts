// What a citizen wrote, reduced to a keyword: case, accents, spaces and trailing punctuation do
// not matter ("Cancèllami!", " stop ", "STOP.").
export type KeywordAction = 'opt_in' | 'opt_out' | 'privacy';

export function normaliseKeyword(text: string): string {
  return text.normalize('NFD').replace(/\p{M}+/gu, '').toUpperCase().replace(/[^\p{L}\p{N} ]+/gu, ' ').replace(/\s+/g, ' ').trim();
}

export function matchKeyword(text: string | undefined, keywords: { optIn: string[]; optOut: string[]; privacy: string[] }): KeywordAction | null {
  if (!text) return null;
  const t = normaliseKeyword(text);
  const is = (list: string[]) => list.some((k) => normaliseKeyword(k) === t);
  if (is(keywords.optOut)) return 'opt_out';
  if (is(keywords.optIn)) return 'opt_in';
  if (is(keywords.privacy)) return 'privacy';
  return null;
}
