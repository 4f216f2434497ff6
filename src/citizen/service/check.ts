// What the shape alone cannot say about config/citizen-service.yaml: Meta's limits for each menu
// as it will be shown (list or buttons, built menus included), ids unique in the file, every
// reference resolving. Problems are errors; unreachable menus and unused answers are warnings.
import { normaliseKeyword } from '../../consent/keywords.js';
import { answerMenu, answerText } from './answer.js';
import { LIMITS, menuProblems, tooLong, type Problem } from './limits.js';
import type { Menu } from './menu.js';
import type { TextKey } from './texts.js';
import type { CitizenService, CitizenServiceParsed } from './schema.js';
import { eraseConfirmMenu, profileMenu, topicsMenu } from './system-menus.js';

export interface CheckResult {
  service: CitizenService;
  problems: Problem[];
  warnings: Problem[];
}

const list = (names: string[]) => (names.length ? names.join(', ') : 'none');

export function checkService(parsed: CitizenServiceParsed): CheckResult {
  const menus: Record<string, Menu> = {};
  for (const [id, m] of Object.entries(parsed.menus)) menus[id] = { id, ...m };
  const service: CitizenService = { ...parsed, menus };
  const problems: Problem[] = [];
  const warnings: Problem[] = [];
  const add = (path: PropertyKey[], message: string | null) => {
    if (message) problems.push({ path, message });
  };

  uniqueWords(parsed.entryKeywords.map((k, i) => [['entryKeywords', i], k]), 'entry keyword', add);
  checkTopics(service, add, problems);
  checkProfile(service, add);
  checkMenus(service, add);
  checkAnswers(service, add);
  checkButtonTexts(service, add);

  if (problems.length === 0) warnings.push(...unreachable(service));
  return { service, problems, warnings };
}

type Add = (path: PropertyKey[], message: string | null) => void;

/** Problems of a built menu, moved onto the config fields they come from. */
function mapped(found: Problem[], where: (path: PropertyKey[]) => PropertyKey[], add: Add): void {
  for (const p of found) add(where(p.path), p.message);
}

/** Texts shown as reply buttons: back/home under answers, yes/no of the erase confirmation. */
function checkButtonTexts(s: CitizenService, add: Add): void {
  const pairs: Array<[Menu, [TextKey, TextKey], TextKey]> = [
    [answerMenu('check', { text: 'x', links: [], buttons: ['back', 'home'] }, s.texts)!, ['back', 'home'], 'back'],
    [eraseConfirmMenu(s.texts), ['eraseYes', 'eraseNo'], 'eraseConfirm'],
  ];
  for (const [menu, [first, second], body] of pairs) {
    mapped(
      menuProblems(menu, []).map((p) => ({ ...p, message: p.message.replace(/options\[0\] of this menu \(.*\)$/, `texts.${first} (the two are buttons of one message)`) })),
      (p) => (p[0] === 'body' ? ['texts', body] : ['texts', p[1] === 0 ? first : second]),
      add,
    );
  }
}

function uniqueWords(words: Array<[PropertyKey[], string]>, what: string, add: Add): void {
  const seen = new Map<string, string>();
  for (const [path, word] of words) {
    const key = normaliseKeyword(word);
    if (key === '') add(path, `a ${what} needs at least one letter or digit`);
    else if (seen.has(key)) add(path, `"${word}" repeats the ${what} "${seen.get(key)}" (case and accents do not count)`);
    else seen.set(key, word);
  }
}

function checkTopics(s: CitizenService, add: Add, found: readonly Problem[]): void {
  const ids = new Map<string, number>();
  s.topics.forEach((t, i) => {
    if (ids.has(t.id)) add(['topics', i, 'id'], `"${t.id}" is also the id of topics[${ids.get(t.id)}]`);
    else ids.set(t.id, i);
  });
  uniqueWords(s.topics.map((t, i) => [['topics', i, 'keyword'], t.keyword]), 'topic keyword', add);
  if (s.topics.length === 0) return;
  // The topics menu is shown with either state; both must fit. One problem per field.
  const reported = new Set<string>(found.map((p) => p.path.join('.')));
  for (const on of [false, true]) {
    const state = on ? s.texts.topicOn : s.texts.topicOff;
    const menu = topicsMenu(s.topics, new Set(on ? s.topics.map((t) => t.id) : []), s.texts);
    mapped(
      menuProblems(menu, []),
      (p) => {
        if (p[0] === 'body') return ['texts', 'topicsBody'];
        if (p[0] === 'button') return ['texts', 'topicsButton'];
        if (p[0] === 'options' && typeof p[1] === 'number') return ['topics', p[1], p[2] === 'keywords' ? 'keyword' : p[2]!];
        return ['topics'];
      },
      (path, message) => {
        const key = path.join('.');
        if (!message || reported.has(key)) return;
        reported.add(key);
        if (path.at(-1) === 'description') add(path, `${message}, with the state "${state} – " in front in the topics menu`);
        else add(path, message.replace(/options\[(\d+)\] of this menu \(.*\)$/, 'topics[$1] in the topics menu'));
      },
    );
  }
}

function checkProfile(s: CitizenService, add: Add): void {
  if (!s.profile) return;
  for (const [name, attr] of Object.entries(s.profile.attributes)) {
    const at = ['profile', 'attributes', name];
    const n = attr.options.length;
    const ids = new Map<string, number>();
    attr.options.forEach((o, i) => {
      if (ids.has(o.id)) add([...at, 'options', i, 'id'], `"${o.id}" is also the id of options[${ids.get(o.id)}]`);
      else ids.set(o.id, i);
    });
    mapped(
      menuProblems(profileMenu(s.profile, name, s.texts), []),
      (p) => {
        if (p[0] === 'body') return [...at, 'question'];
        if (p[0] === 'button') return [...at, 'button'];
        if (p[0] === 'options' && typeof p[1] === 'number') return p[1] < n ? [...at, ...p] : ['texts', 'profileSkip'];
        return [...at, 'options'];
      },
      (path, message) => add(path, message && path.at(-1) === 'options' && !message.includes('already') ? `${message}, counting the "${s.texts.profileSkip}" option the bot adds` : message),
    );
  }
}

function checkMenus(s: CitizenService, add: Add): void {
  const menuIds = Object.keys(s.menus);
  const answerIds = Object.keys(s.answers);
  const topicIds = s.topics.map((t) => t.id);
  if (!s.menus.home) add(['menus'], `needs a menu with id "home", the first one shown (menus: ${list(menuIds)})`);

  const optionAt = new Map<string, string>();
  for (const menu of Object.values(s.menus)) {
    for (const p of menuProblems(menu, ['menus', menu.id])) add(p.path, p.message);
    menu.options.forEach((o, i) => {
      const at = ['menus', menu.id, 'options', i];
      const where = `menus.${menu.id}.options[${i}]`;
      const first = optionAt.get(o.id);
      if (first !== undefined) add([...at, 'id'], `"${o.id}" is also the id of ${first} (option ids must be unique in the file)`);
      else optionAt.set(o.id, where);

      const a = o.action;
      if (a.kind === 'menu' && !s.menus[a.menu]) add([...at, 'action'], `menu "${a.menu}" does not exist (menus: ${list(menuIds)})`);
      if (a.kind === 'menu' && a.menu === menu.id) add([...at, 'action'], `menu "${a.menu}" is the menu this option is in`);
      if (a.kind === 'answer' && !s.answers[a.answer]) add([...at, 'action'], `answer "${a.answer}" does not exist (answers: ${list(answerIds)})`);
      if ((a.kind === 'subscribe' || a.kind === 'unsubscribe') && !topicIds.includes(a.topic)) {
        add([...at, 'action'], `topic "${a.topic}" does not exist (topics: ${list(topicIds)})`);
      }
      if (a.kind === 'topics' && topicIds.length === 0) add([...at, 'action'], 'there are no topics to show (topics: is empty)');
      if (a.kind === 'profile' && !s.profile) add([...at, 'action'], 'there is no profile: section to ask about');
    });
  }
}

function checkAnswers(s: CitizenService, add: Add): void {
  for (const [id, answer] of Object.entries(s.answers)) {
    const at = ['answers', id];
    const menu = answerMenu(id, answer, s.texts);
    const withLinks = answer.links.length ? ', links included' : '';
    if (menu) add([...at, 'text'], tooLong(menu.body, LIMITS.buttonBody, `for an answer with buttons (the body of reply buttons${withLinks})`));
    else add([...at, 'text'], tooLong(answerText(answer), LIMITS.body, `for a message${withLinks}`));
  }
}

/** Menus no path from home leads to, answers no option shows, topics no one can subscribe to. */
function unreachable(s: CitizenService): Problem[] {
  const out: Problem[] = [];
  const seen = new Set<string>(['home']);
  const queue = ['home'];
  const options = Object.values(s.menus).flatMap((m) => m.options);
  while (queue.length) {
    for (const o of s.menus[queue.shift()!]?.options ?? []) {
      if (o.action.kind === 'menu' && !seen.has(o.action.menu)) {
        seen.add(o.action.menu);
        queue.push(o.action.menu);
      }
    }
  }
  for (const id of Object.keys(s.menus)) if (!seen.has(id)) out.push({ path: ['menus', id], message: 'not reachable from menus.home' });
  const answered = new Set(options.flatMap((o) => (o.action.kind === 'answer' ? [o.action.answer] : [])));
  for (const id of Object.keys(s.answers)) if (!answered.has(id)) out.push({ path: ['answers', id], message: 'no menu option shows this answer' });
  const topicsMenuShown = options.some((o) => o.action.kind === 'topics');
  s.topics.forEach((t, i) => {
    const direct = options.some((o) => o.action.kind === 'subscribe' && o.action.topic === t.id);
    if (!topicsMenuShown && !direct) out.push({ path: ['topics', i], message: `no option shows the topics menu or subscribes to "${t.id}" (only "ISCRIVIMI ${t.keyword}" typed reaches it)` });
  });
  return out;
}
