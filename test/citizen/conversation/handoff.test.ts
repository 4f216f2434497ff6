// Hand-off to staff: bot → waiting_human → human → closed, with a fake staff endpoint over real
// HTTP and staff replies through POST /staff/reply; out of hours the citizen is told when.
import { afterEach, describe, expect, it } from 'vitest';
import { availableDialects } from '../../helpers/databases.js';
import { getSession } from '../../../src/store/citizen-sessions.js';
import { serviceWith, startConversation, STAFF_TOKEN, type Conversation } from './harness.js';

const { run } = await availableDialects(['sqlite', 'postgres']);

// Tuesday 24 November 2026, 10:00 in Rome (open); Saturday 28 November, 10:00 (closed).
const TUESDAY_10 = Date.parse('2026-11-24T09:00:00Z');
const SATURDAY_10 = Date.parse('2026-11-28T09:00:00Z');

let c: Conversation | undefined;
afterEach(async () => {
  await c?.close();
  c = undefined;
});

describe.each(run)('hand-off (%s)', (dialect) => {
  it('OPERATORE during office hours: waiting, silent bot, staff reply, human, close, bot again', async () => {
    let now = TUESDAY_10;
    c = await startConversation(dialect, { now: () => now });
    const { knex } = c.store;
    await c.say('Ciao');
    now += 1000;
    const handoff = await c.say('OPERATORE');
    expect(handoff.map((m) => m.text)).toEqual([c.service.texts.handoffOpen.replace('{{link}}', 'https://www.comune.ponteverde.example/chat')]);
    expect((await getSession(knex, c.phone))!.handoff).toBe('waiting_human');
    // Staff got the conversation: the number (a trusted endpoint), the token, the recent messages.
    expect(c.staff.received).toHaveLength(1);
    expect(c.staff.received[0]!.auth).toBe(`Bearer ${STAFF_TOKEN}`);
    expect(c.staff.received[0]!.body.event).toBe('handoff');
    expect(c.staff.received[0]!.body.conversation).toEqual({ phone: c.phone, state: 'waiting_human', officeOpen: true });
    expect(c.staff.received[0]!.body.messages.map((m) => m.text)).toEqual(['Ciao', 'OPERATORE']);

    // The bot is silent while waiting: the message goes to staff.
    now += 1000;
    expect(await c.say('Ho un problema con la TARI')).toEqual([]);
    expect(c.staff.received.at(-1)!.body).toMatchObject({ event: 'message', messages: [{ text: 'Ho un problema con la TARI' }] });

    // A staff reply goes out as free-form text; the conversation is now with a person.
    const before = c.sandbox.sends.length;
    const r = await c.staffPost('reply', { phone: c.phone, text: 'Buongiorno, sono Anna dell\'URP.' });
    expect(r.status).toBe(200);
    expect(c.sandbox.sends.slice(before).map((s) => [s.type, s.text, s.wamid])).toEqual([['text', 'Buongiorno, sono Anna dell\'URP.', r.body.wamid]]);
    expect((await getSession(knex, c.phone))!.handoff).toBe('human');
    expect(await c.say('menu')).toEqual([]); // still with a person: even MENU goes to staff
    expect(c.staff.received.at(-1)!.body.conversation.state).toBe('human');

    // Closed: the citizen is told, and the bot answers again.
    const beforeClose = c.sandbox.sends.length;
    const closed = await c.staffPost('close', { phone: c.phone });
    expect(closed).toEqual({ status: 200, body: { handoff: 'closed', notified: true } });
    expect(c.sandbox.sends.slice(beforeClose).map((s) => s.text)).toEqual([c.service.texts.handoffClosed]);
    expect((await getSession(knex, c.phone))!.handoff).toBe('closed');
    const again = await c.say('menu');
    expect(again.map((m) => m.type)).toEqual(['text', 'interactive']);
  });

  it('outside office hours the citizen is told when someone will answer', async () => {
    c = await startConversation(dialect, { now: () => SATURDAY_10 });
    const [reply] = await c.say('operatore');
    expect(reply!.text).toBe(c.service.handoff.closedText.replace('{{next}}', 'lunedì 30 novembre alle 09:00'));
    expect(c.staff.received[0]!.body.conversation.officeOpen).toBe(false);
  });

  it('a staff reply after 24 h without a message from the citizen is refused: a template is needed', async () => {
    let now = TUESDAY_10;
    c = await startConversation(dialect, { now: () => now });
    await c.say('operatore');
    now += 24 * 3600 * 1000;
    const before = c.sandbox.sends.length;
    const r = await c.staffPost('reply', { phone: c.phone, text: 'Ci scusi il ritardo' });
    expect(r.status).toBe(409);
    expect(r.body.error).toMatch(/template/);
    expect(c.sandbox.sends.length).toBe(before);
    expect((await c.staffPost('reply', { phone: c.phone, text: 'x' }, 'wrong-token')).status).toBe(401);
  });

  it('an unsure answer offers a person; "sì" accepts it', async () => {
    c = await startConversation(dialect, { now: () => TUESDAY_10 });
    const unsure = await c.say('asdfgh qwerty');
    expect(unsure.map((m) => m.type)).toEqual(['text', 'interactive']);
    expect(unsure[0]!.text).toBe(c.service.texts.unknownInput);
    await c.say('sì');
    expect((await getSession(c.store.knex, c.phone))!.handoff).toBe('waiting_human');
    expect(c.staff.received).toHaveLength(1);
  });

  it('plain STOP works while a person has the conversation', async () => {
    c = await startConversation(dialect, { now: () => TUESDAY_10 });
    await c.say('operatore');
    const stop = await c.say('STOP');
    expect(stop).toHaveLength(1);
    expect((await c.store.knex('consents').where({ phone: c.phone }).first()).state).toBe('opted_out');
  });

  it('waiting for a person, the citizen can still see and erase their data; MENU takes them back to the bot', async () => {
    let now = SATURDAY_10;
    c = await startConversation(dialect, { now: () => now });
    const { knex } = c.store;
    await c.say('ISCRIVIMI METEO');
    await c.say('operatore');
    expect((await getSession(knex, c.phone))!.handoff).toBe('waiting_human');
    now += 1000;
    const mine = await c.say('I MIEI DATI');
    expect(mine[0]!.text).toContain('• Iscrizioni: Allerte meteo');
    expect((await c.say('PRIVACY')).map((m) => m.text)).toEqual([c.service.privacy.text]);
    const ask = await c.say('CANCELLA I MIEI DATI');
    expect(ask[0]!.interactive!.body.text).toBe(c.service.texts.eraseConfirm);
    const erased = await c.say('Sì');
    expect(erased.map((m) => m.text)).toEqual([c.service.texts.erased]);
    expect(await knex('topic_subscriptions').where({ phone: c.phone })).toEqual([]);
    expect(await getSession(knex, c.phone)).toBeNull(); // the hand-off ended with the data
    // Staff may no longer write to the number as if it were still in the hand-off.
    expect((await c.staffPost('reply', { phone: c.phone, text: 'Buongiorno' })).status).toBe(409);

    // Another wait; MENU leaves it, and staff are told the citizen went back to the bot.
    await c.say('operatore');
    const menu = await c.say('MENU');
    expect(menu.map((m) => m.type)).toEqual(['text', 'interactive']);
    expect((await getSession(knex, c.phone))!.handoff).toBe('bot');
    expect(c.staff.received.at(-1)!.body).toMatchObject({ event: 'message', conversation: { state: 'bot' }, messages: [{ text: 'MENU' }] });
  });

  it('a hand-off the staff endpoint does not take: the citizen is told, with the link, and stays with the bot', async () => {
    c = await startConversation(dialect, { now: () => TUESDAY_10, service: (url) => serviceWith(url.replace('/handoff', '/down').replace(/:\d+\//, ':9/')) });
    const replies = await c.say('OPERATORE');
    // One answer, the true one: not "a person will answer" followed by "no one can".
    expect(replies.map((m) => m.text)).toEqual([c.service.texts.handoffUnavailable.replace('{{link}}', 'https://www.comune.ponteverde.example/chat')]);
    expect((await getSession(c.store.knex, c.phone))!.handoff).toBe('bot');
    expect((await c.say('orari')).length).toBeGreaterThan(0); // the bot answers again
  });

  it('with a link only, the citizen gets the link and the bot keeps the conversation', async () => {
    c = await startConversation(dialect, { staffEndpoint: false, now: () => TUESDAY_10 });
    const [reply] = await c.say('OPERATORE');
    expect(reply!.text).toContain('https://www.comune.ponteverde.example/chat');
    expect((await getSession(c.store.knex, c.phone))!.handoff).toBe('bot');
    expect(c.staff.received).toEqual([]);
  });
});
