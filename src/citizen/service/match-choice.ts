// Which option of the menu last shown a citizen's message chooses. A tap routes on the reply id
// (never on its title: renaming an option must not break routing); typed text may be the letter
// ("b", "B)", " b. "), the number ("2"), or the title or a keyword, with case, accents and
// punctuation ignored ("Orari uffici" = "orari UFFICI", "perchè" = "perche").
import { normaliseKeyword } from '../../consent/keywords.js';
import { LETTERS } from './interactive.js';
import type { MenuOption } from './menu.js';

/**
 * An inbound message, as parseWebhook gives it (`type`, `text`, `replyId`) or as Meta sends it
 * (`text.body`, `interactive.list_reply.id` / `button_reply.id`, `button.payload`).
 */
export interface InboundChoice {
  type?: string;
  text?: string | { body?: string };
  replyId?: string;
  interactive?: { type?: string; list_reply?: { id?: string; title?: string }; button_reply?: { id?: string; title?: string } };
  button?: { payload?: string; text?: string };
}

export interface MatchOptions {
  /**
   * Every option id the bot may have shown (ids are unique in the file): a tap on an older menu
   * still in the chat returns its id instead of null. Default: only the menu's own ids.
   */
  knownIds?: ReadonlySet<string>;
}

const LETTER = /^\(?\s*([a-j])\s*[).:\-]?$/i;
const NUMBER = /^\(?\s*(\d{1,2})\s*[).:°\-]?$/;
const MARKED_TITLE = /^\(?\s*([a-j]|\d{1,2})\s*[).:\-]\s*(.+)$/i;

/** The chosen option's id, or null when the message chooses none of the menu's options. */
export function matchChoice(menu: { options: readonly Pick<MenuOption, 'id' | 'title' | 'keywords'>[] }, message: InboundChoice, opts: MatchOptions = {}): string | null {
  const ids = new Set(menu.options.map((o) => o.id));
  const isKnown = (id: string) => ids.has(id) || (opts.knownIds?.has(id) ?? false);

  const tapped = message.interactive?.list_reply?.id ?? message.interactive?.button_reply?.id ?? (message.type === 'interactive' ? message.replyId : undefined);
  if (message.type === 'interactive' || message.interactive !== undefined) return tapped !== undefined && isKnown(tapped) ? tapped : null;

  // A template's quick-reply tap: its payload, if it is one of our ids; else its text, as typed.
  const payload = message.button?.payload ?? (message.type === 'button' ? message.replyId : undefined);
  if (payload !== undefined && isKnown(payload)) return payload;

  const typed = typeof message.text === 'string' ? message.text : (message.text?.body ?? message.button?.text);
  return typed === undefined ? null : matchTyped(menu.options, typed);
}

function matchTyped(options: readonly Pick<MenuOption, 'id' | 'title' | 'keywords'>[], text: string): string | null {
  const t = text.normalize('NFC').trim();
  const at = (i: number) => options[i]?.id ?? null;

  const letter = LETTER.exec(t);
  if (letter) return at(LETTERS.indexOf(letter[1]!.toUpperCase()));
  const number = NUMBER.exec(t);
  if (number) return Number(number[1]) >= 1 ? at(Number(number[1]) - 1) : null;

  const key = normaliseKeyword(t);
  if (key === '') return null;
  const named = options.find((o) => normaliseKeyword(o.title) === key || o.keywords.some((k) => normaliseKeyword(k) === key));
  if (named) return named.id;

  // "B) Orari uffici" copied from the plain-text menu: the mark and the title must agree.
  const marked = MARKED_TITLE.exec(t);
  if (marked) {
    const mark = marked[1]!;
    const i = /\d/.test(mark) ? Number(mark) - 1 : LETTERS.indexOf(mark.toUpperCase());
    const o = options[i];
    if (o && normaliseKeyword(o.title) === normaliseKeyword(marked[2]!)) return o.id;
  }
  return null;
}
