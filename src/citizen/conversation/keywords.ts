// The words a citizen may write as the whole message, read before any menu: plain STOP ends
// everything, "STOP METEO" / "ISCRIVIMI METEO" change one topic, and the fixed service words.
import { normaliseKeyword } from '../../consent/keywords.js';
import type { Topic } from '../service/index.js';
export { YES_WORDS } from '../service/index.js';

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

// Between "ISCRIVIMI" and the topic people write articles, prepositions and "avvisi":
// "Iscrivimi al meteo", "iscrivimi agli avvisi meteo", "stop all'argomento meteo" (apostrophes are
// spaces after normaliseKeyword). Dropped only when what is left names a topic.
const FILLERS = new Set(['A', 'AL', 'ALLA', 'ALLE', 'ALLO', 'AGLI', 'AI', 'ALL', 'IL', 'LO', 'LA', 'I', 'GLI', 'LE', 'L',
  'DI', 'DEL', 'DELLA', 'DELLE', 'DEGLI', 'DEI', 'DELL', 'D', 'PER', 'DA', 'DAGLI', 'DALLE', 'DALL', 'SU', 'SUGLI', 'SULLE',
  'AVVISI', 'AVVISO', 'NOTIFICHE', 'MESSAGGI', 'ARGOMENTO', 'TEMA']);

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
        const bare = word.split(' ').filter((x) => !FILLERS.has(x)).join(' ');
        const names = (x: Topic) => [normaliseKeyword(x.keyword), x.id.toUpperCase(), normaliseKeyword(x.title)];
        const topic = topics.find((x) => names(x).includes(word)) ?? topics.find((x) => names(x).includes(bare)) ?? null;
        return { kind: 'topic', action, topic, word };
      }
    }
  }
  return null;
}
