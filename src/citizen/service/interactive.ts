// A menu as the Cloud API's `interactive` object (citizen-service.md §1.6): 1–3 options as reply
// buttons, 4–10 as a one-section list, each option's stable id as the reply id. The caller wraps it:
// { messaging_product: 'whatsapp', to, type: 'interactive', interactive }. Also the same menu as
// lettered plain text, for clients that cannot show interactive messages (and the terminal chat).
import { menuKind } from './limits.js';
import type { Menu } from './menu.js';

export interface TextObject {
  text: string;
}

export interface InteractiveButton {
  type: 'button';
  header?: { type: 'text'; text: string };
  body: TextObject;
  footer?: TextObject;
  action: { buttons: Array<{ type: 'reply'; reply: { id: string; title: string } }> };
}

export interface ListRow {
  id: string;
  title: string;
  description?: string;
}

export interface InteractiveList {
  type: 'list';
  header?: { type: 'text'; text: string };
  body: TextObject;
  footer?: TextObject;
  action: { button: string; sections: Array<{ title?: string; rows: ListRow[] }> };
}

export type Interactive = InteractiveButton | InteractiveList;

/** Letters of a menu's options: A … J (a menu has at most 10). */
export const LETTERS = 'ABCDEFGHIJ';

/**
 * The `interactive` object for `menu`. Assumes a menu that passed menuProblems (the loader checks
 * every configured and built menu); throws on one with no options or more than 10.
 */
export function menuInteractive(menu: Menu): Interactive {
  const n = menu.options.length;
  if (n === 0 || n > LETTERS.length) throw new Error(`menu "${menu.id}" has ${n} options: a WhatsApp menu shows 1 to 10`);
  const frame = {
    ...(menu.header !== undefined ? { header: { type: 'text' as const, text: menu.header } } : {}),
    body: { text: menu.body },
    ...(menu.footer !== undefined ? { footer: { text: menu.footer } } : {}),
  };
  if (menuKind(n) === 'button') {
    return {
      type: 'button',
      ...frame,
      action: { buttons: menu.options.map((o) => ({ type: 'reply' as const, reply: { id: o.id, title: o.title } })) },
    };
  }
  if (menu.button === undefined) throw new Error(`menu "${menu.id}" is shown as a list and needs a button label`);
  const rows = menu.options.map((o): ListRow => ({ id: o.id, title: o.title, ...(o.description !== undefined ? { description: o.description } : {}) }));
  return {
    type: 'list',
    ...frame,
    action: { button: menu.button, sections: [{ ...(menu.section !== undefined ? { title: menu.section } : {}), rows }] },
  };
}

/**
 * The menu as text: header in bold, body, one "A) Title – description" line per option, footer,
 * then `prompt` (e.g. texts.choosePrompt). match-choice reads back the letters, numbers and titles.
 */
export function menuPlainText(menu: Menu, prompt?: string): string {
  const lines = menu.options.map((o, i) => `${LETTERS[i]}) ${o.title}${o.description !== undefined ? ` – ${o.description}` : ''}`);
  return [menu.header !== undefined ? `*${menu.header}*` : undefined, menu.body, lines.join('\n'), menu.footer, prompt]
    .filter((part): part is string => part !== undefined && part !== '')
    .join('\n\n');
}
