// The words a citizen may write as the whole message, read before any menu: plain STOP ends
// everything, "STOP METEO" / "ISCRIVIMI METEO" change one topic, and the fixed service words.
import { normaliseKeyword } from '../../consent/keywords.js';
import type { Topic } from '../service/index.js';

export type KeywordCommand =
  | { kind: 'stopAll' }
  | { kind: 'optInAll' }
  | { kind: 'topic'; action: 'opt_in' | 'opt_out'; topic: Topic | null; word: string }
  | { kind: 'privacy' | 'mydata' | 'erase' | 'operator' | 'entry' };

export interface KeywordLists {
  optOut: string[];
  optIn: string[];
  privacy: string[];
  entry: string[];
}

export const MYDATA_WORDS = ['I MIEI DATI', 'MIEI DATI'];
export const ERASE_WORDS = ['CANCELLA I MIEI DATI', 'CANCELLA MIEI DATI'];
export const OPERATOR_WORDS = ['OPERATORE', 'PARLA CON UN OPERATORE'];
/** Accepting the offer of a person after an answer the bot was not sure of. */
export const YES_WORDS = ['SI', 'SÌ', 'OK', 'VA BENE', 'CERTO'];

export function readKeyword(text: string | undefined, lists: KeywordLists, topics: readonly Topic[]): KeywordCommand | null {
  if (!text) return null;
  const t = normaliseKeyword(text);
  if (t === '') return null;
  const is = (words: readonly string[]) => words.some((w) => normaliseKeyword(w) === t);
  if (is(lists.optOut)) return { kind: 'stopAll' };
  if (is(ERASE_WORDS)) return { kind: 'erase' };
  if (is(MYDATA_WORDS)) return { kind: 'mydata' };
  if (is(OPERATOR_WORDS)) return { kind: 'operator' };
  if (is(lists.privacy)) return { kind: 'privacy' };
  if (is(lists.entry)) return { kind: 'entry' };
  if (is(lists.optIn)) return { kind: 'optInAll' };
  // "STOP METEO", "ISCRIVIMI METEO": a stop/subscribe word, then one topic keyword.
  for (const [action, words] of [['opt_out', lists.optOut], ['opt_in', lists.optIn]] as const) {
    for (const w of words) {
      const k = normaliseKeyword(w);
      if (t.startsWith(`${k} `)) {
        const word = t.slice(k.length + 1);
        const topic = topics.find((x) => normaliseKeyword(x.keyword) === word || x.id.toUpperCase() === word) ?? null;
        return { kind: 'topic', action, topic, word };
      }
    }
  }
  return null;
}
