// Free text in the conversation: a FAQ answer the bot is sure of goes out as it is.
import { afterEach, describe, expect, it } from 'vitest';
import { availableDialects } from '../../helpers/databases.js';
import { formatAnswer, loadFaq } from '../../../src/citizen/faq/index.js';
import { FAQ_FILE, startConversation, type Conversation } from './harness.js';

const { run } = await availableDialects(['sqlite']);
let c: Conversation | undefined;
afterEach(async () => {
  await c?.close();
  c = undefined;
});

describe.each(run)('FAQ answers in the conversation (%s)', (dialect) => {
  it('answers a question the FAQ is sure of, and records it as handled by that entry', async () => {
    const question = 'vorrei concessione di un loculo al cimitero';
    const hit = loadFaq(FAQ_FILE).answer(question)!;
    expect(hit.confident).toBe(true);
    c = await startConversation(dialect);
    const reply = await c.say(question);
    expect(reply.map((m) => [m.type, m.text])).toEqual([['text', formatAnswer(hit.entry)]]);
    expect((await c.store.knex('inbound_messages').where({ phone: c.phone }).first()).handled_as).toBe(`faq:${hit.entry.id}`);
  });

  it('a typed letter is read against the menu last shown', async () => {
    c = await startConversation(dialect);
    await c.say('ciao');
    const [menu] = await c.say('B');
    expect(menu!.interactive!.body.text).toBe(c.service.menus.anagrafe!.body);
    const answer = await c.say('1');
    expect(answer[0]!.interactive!.body.text).toContain("Carta d'identità elettronica");
    const back = await c.tap('sys:back');
    expect(back[0]!.interactive!.body.text).toBe(c.service.menus.anagrafe!.body);
  });
});

describe.each(run)('answers with media (%s)', (dialect) => {
  it('an answer with a document goes out as a document message, then its text with the buttons', async () => {
    c = await startConversation(dialect);
    await c.say('ciao');
    await c.tap('home:rifiuti');
    const sent = await c.tap('rifiuti:calendario');
    expect(sent.map((s) => s.type)).toEqual(['document', 'interactive']);
    expect(sent[0]!.media).toEqual({ link: 'https://www.comune.ponteverde.example/files/calendario-raccolta-2027.pdf', filename: 'calendario-raccolta-2027.pdf' });
    expect(sent[1]!.interactive!.type).toBe('button');
  });
});
