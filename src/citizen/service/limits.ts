// Meta's limits for interactive messages (citizen-service.md §1.6), in one place, and the check of
// one menu against them. The same check runs on the menus of config/citizen-service.yaml and on the
// menus the code builds (topics, profile questions), so nothing the bot shows can be refused by Meta.
import { normaliseKeyword } from '../../consent/keywords.js';
import type { Menu } from './menu.js';

export const LIMITS = {
  /** A list holds up to 10 rows over all its sections. */
  listRows: 10,
  listButton: 20,
  rowTitle: 24,
  rowDescription: 72,
  /** Meta allows 200 for a row id and 256 for a reply id: 200 so an id fits both. */
  optionId: 200,
  replyButtons: 3,
  replyTitle: 20,
  /** Body of a list or of a plain text message. */
  body: 4096,
  /** Body of a reply-button message. */
  buttonBody: 1024,
  header: 60,
  footer: 60,
  sectionTitle: 24,
  caption: 1024,
} as const;

/**
 * Length as Meta is assumed to count it: UTF-16 code units, the larger of the plausible counts
 * (an emoji outside the BMP counts 2), so a text accepted here is never too long for Meta.
 */
export const textLength = (s: string): number => s.length;

/** "at most 24 characters for a list row (it has 27)" when `s` is longer than `max`, else null. */
export function tooLong(s: string, max: number, what: string): string | null {
  const n = textLength(s);
  return n > max ? `at most ${max} characters ${what} (it has ${n})` : null;
}

/** How a menu of `count` options is shown: 1–3 reply buttons, 4–10 a one-section list. */
export function menuKind(count: number): 'button' | 'list' {
  return count <= LIMITS.replyButtons ? 'button' : 'list';
}

export interface Problem {
  path: PropertyKey[];
  message: string;
}

/** Every way `menu` would be refused by Meta (or be ambiguous to type), with paths relative to `at`. */
export function menuProblems(menu: Menu, at: PropertyKey[]): Problem[] {
  const out: Problem[] = [];
  const add = (path: PropertyKey[], message: string | null) => {
    if (message) out.push({ path: [...at, ...path], message });
  };
  const n = menu.options.length;
  if (n === 0) add(['options'], 'a menu needs at least 1 option');
  if (n > LIMITS.listRows) add(['options'], `at most ${LIMITS.listRows} options (a WhatsApp list holds ${LIMITS.listRows} rows; it has ${n})`);
  const kind = menuKind(n);

  add(['body'], kind === 'button'
    ? tooLong(menu.body, LIMITS.buttonBody, `for the body of a menu of ${n} option(s), shown as reply buttons`)
    : tooLong(menu.body, LIMITS.body, 'for a message body'));
  if (menu.header !== undefined) add(['header'], tooLong(menu.header, LIMITS.header, 'for a header'));
  if (menu.footer !== undefined) add(['footer'], tooLong(menu.footer, LIMITS.footer, 'for a footer'));
  if (kind === 'list') {
    if (menu.button === undefined) add(['button'], `required: a menu of ${n} options is shown as a list, whose button needs a label`);
    else add(['button'], tooLong(menu.button, LIMITS.listButton, 'for a list button'));
    if (menu.section !== undefined) add(['section'], tooLong(menu.section, LIMITS.sectionTitle, 'for a section title'));
  }

  const titles = new Map<string, number>();
  menu.options.forEach((o, i) => {
    add(['options', i, 'id'], tooLong(o.id, LIMITS.optionId, 'for an option id'));
    if (kind === 'list') {
      add(['options', i, 'title'], tooLong(o.title, LIMITS.rowTitle, 'for a list row'));
      if (o.description !== undefined) add(['options', i, 'description'], tooLong(o.description, LIMITS.rowDescription, 'for a list row description'));
    } else {
      add(['options', i, 'title'], tooLong(o.title, LIMITS.replyTitle, 'for a reply button'));
    }
    // Meta wants reply titles unique; typed titles and keywords must name one option in any case.
    const names: Array<[PropertyKey[], string]> = [[['title'], o.title], ...o.keywords.map((k, j): [PropertyKey[], string] => [['keywords', j], k])];
    for (const [path, name] of names) {
      const key = normaliseKeyword(name);
      if (key === '') {
        add(['options', i, ...path], 'needs at least one letter or digit (it is what a citizen can type)');
        continue;
      }
      if (/^([A-J]|\d{1,2})$/.test(key)) {
        add(['options', i, ...path], `"${name}" would be read as a letter or number choice`);
        continue;
      }
      const other = titles.get(key);
      if (other !== undefined && other !== i) add(['options', i, ...path], `"${name}" already names options[${other}] of this menu (titles and keywords must be unique in a menu)`);
      else titles.set(key, i);
    }
  });
  return out;
}
