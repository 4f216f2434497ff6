// Reading back the chosen option: reply ids (never titles), letters, numbers, titles and keywords
// typed with any case and accents; anything else is null.
import { describe, expect, it } from 'vitest';
import { matchChoice, type InboundChoice } from '../../../src/citizen/service/match-choice.js';
import type { MenuOption } from '../../../src/citizen/service/menu.js';
import { loadCitizenService } from '../../../src/citizen/service/load.js';
import { FILE } from './helpers.js';

const opt = (id: string, title: string, keywords: string[] = []): MenuOption => ({ id, title, keywords, action: { kind: 'home' } });

const menu = {
  options: [
    opt('info:orari', 'Orari uffici', ['orari']),
    opt('info:perche', 'Perchè iscriversi'),
    opt('info:urp', 'URP e contatti', ['telefono', 'PEC']),
    opt('info:cie', "Carta d'identità"),
    opt('info:home', '🏠 Menu principale'),
  ],
};

const text = (t: string): InboundChoice => ({ type: 'text', text: t });

describe('matchChoice', () => {
  const cases: Array<[string, InboundChoice, string | null]> = [
    // Taps, as Meta sends them and as parseWebhook gives them: the id, whatever the title says.
    ['list_reply id', { type: 'interactive', interactive: { type: 'list_reply', list_reply: { id: 'info:urp', title: 'Orari uffici' } } }, 'info:urp'],
    ['button_reply id', { type: 'interactive', interactive: { type: 'button_reply', button_reply: { id: 'info:orari', title: 'renamed' } } }, 'info:orari'],
    ['parsed interactive reply', { type: 'interactive', text: 'Orari uffici', replyId: 'info:cie' }, 'info:cie'],
    ['unknown reply id, title of an option', { type: 'interactive', text: 'Orari uffici', replyId: 'old:gone' }, null],
    ['interactive without a reply', { type: 'interactive', interactive: { type: 'nfm_reply' } }, null],
    ['template quick-reply whose payload is an id', { type: 'button', button: { payload: 'info:urp', text: 'x' } }, 'info:urp'],
    ['template quick-reply, other payload, title as text', { type: 'button', button: { payload: 'ANNULLA:42', text: 'Orari uffici' } }, 'info:orari'],
    // Letters.
    ['letter', text('b'), 'info:perche'],
    ['letter upper with )', text('B)'), 'info:perche'],
    ['letter with dot and spaces', text(' b. '), 'info:perche'],
    ['letter in brackets', text('(c)'), 'info:urp'],
    ['letter E', text('E'), 'info:home'],
    ['letter past the options', text('F'), null],
    ['letter past J', text('k'), null],
    // Numbers.
    ['number', text('2'), 'info:perche'],
    ['number with dot', text('4.'), 'info:cie'],
    ['number 0', text('0'), null],
    ['number past the options', text('6'), null],
    // Titles and keywords: case, accents, punctuation, emoji ignored.
    ['title', text('Orari uffici'), 'info:orari'],
    ['title, case', text('orari UFFICI'), 'info:orari'],
    ['title, accent dropped', text('perche iscriversi'), 'info:perche'],
    ['title, accent added', text('PERCHÉ ISCRIVERSI?'), 'info:perche'],
    ['title with apostrophe', text("carta d'identita"), 'info:cie'],
    ['title without the emoji', text('menu principale'), 'info:home'],
    ['keyword', text('Telefono'), 'info:urp'],
    ['keyword, case', text('pec'), 'info:urp'],
    ['letter and title copied from the text menu', text('A) Orari uffici'), 'info:orari'],
    ['letter and the wrong title', text('B) Orari uffici'), null],
    // Nothing.
    ['a sentence containing a title', text('vorrei sapere gli orari uffici'), null],
    ['garbage', text('asdfgh'), null],
    ['emoji only', text('👍'), null],
    ['empty', text('   '), null],
    ['no text at all', { type: 'image' }, null],
    ['Meta text object', { type: 'text', text: { body: 'c' } }, 'info:urp'],
  ];
  it.each(cases)('%s', (_, message, expected) => {
    expect(matchChoice(menu, message)).toBe(expected);
  });

  it('a tap on an older menu still in the chat: its id when the caller knows it', () => {
    const tap: InboundChoice = { type: 'interactive', interactive: { list_reply: { id: 'tributi:tari' } } };
    expect(matchChoice(menu, tap)).toBeNull();
    expect(matchChoice(menu, tap, { knownIds: new Set(['tributi:tari']) })).toBe('tributi:tari');
  });

  it('on the real home menu: "b", "2", "anagrafe" and a tap all choose the registry office', () => {
    const home = loadCitizenService(FILE).service.menus.home!;
    for (const t of ['b', '2', 'Anagrafe', 'ANAGRAFE!']) expect(matchChoice(home, text(t)), t).toBe('home:anagrafe');
    expect(matchChoice(home, { type: 'interactive', replyId: 'home:anagrafe' })).toBe('home:anagrafe');
    expect(matchChoice(home, text('operatore'))).toBe('home:operatore');
    expect(matchChoice(home, text('i'))).toBe('home:operatore');
  });
});
