// The conversation engine on a real store, without HTTP: STOP and topic keywords with the pending
// broadcast deliveries they cancel, staff opt-outs, the profile questions, session expiry, duplicates.
import { afterEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { availableDialects } from '../../helpers/databases.js';
import { testStore, type TestStore } from '../../helpers/store.js';
import { handleCitizenMessage, handoffNotTaken, type ConversationDeps } from '../../../src/citizen/conversation/index.js';
import { recordOptOut } from '../../../src/store/citizen-data.js';
import { getProfile } from '../../../src/store/citizen-profiles.js';
import { getSession } from '../../../src/store/citizen-sessions.js';
import { whatsappSchema } from '../../../src/config/schema.js';
import { serviceWith } from './harness.js';

const { run } = await availableDialects(['sqlite', 'postgres']);
const PHONE = '+393471234567';
const OTHER = '+393339876543';
const wa = whatsappSchema.parse({ phoneNumberId: '1' });
const service = serviceWith('http://127.0.0.1:9/unused');

let store: TestStore | undefined;
afterEach(async () => {
  await store?.close();
  store = undefined;
});

describe.each(run)('conversation engine (%s)', (dialect) => {
  let now = Date.parse('2026-11-24T09:00:00Z');
  let n = 0;
  const deps = (): ConversationDeps => ({ knex: store!.knex, service, faq: null, keywords: wa.keywords, replies: wa.replies, staffEndpoint: true, log: pino({ level: 'silent' }), now: () => now });
  const say = (text: string, o: { phone?: string; replyId?: string } = {}) =>
    handleCitizenMessage({ id: `wamid.t${++n}`, fromE164: o.phone ?? PHONE, type: o.replyId ? 'interactive' : 'text', text, ...(o.replyId ? { replyId: o.replyId } : {}) }, deps());

  /** A pending WhatsApp delivery of a broadcast of `topic` to `phone`. */
  async function pendingBroadcast(topic: string, phone: string): Promise<number> {
    const k = store!.knex;
    const [ev] = await k('events').insert({ dedup_key: `b${++n}:${phone}`, instance_id: `broadcast:${topic}`, type: 'broadcast', fiscal_code: '-', phone, created_at: now }).returning('id');
    const eventId = typeof ev === 'object' ? (ev as { id: number }).id : ev;
    const [d] = await k('deliveries').insert({ event_id: eventId, channel: 'whatsapp', address: phone, state: 'pending', next_attempt_at: now, created_at: now, updated_at: now }).returning('id');
    return Number(typeof d === 'object' ? (d as { id: number }).id : d);
  }
  const stateOf = async (id: number) => (await store!.knex('deliveries').where({ id }).first('state')).state as string;

  it('ISCRIVIMI METEO / STOP METEO change one topic; STOP METEO cancels only that topic\'s pending broadcasts', async () => {
    store = await testStore(dialect);
    expect((await say('iscrivimi meteo')).messages[0]).toMatchObject({ type: 'text' });
    await say('ISCRIVIMI STRADE');
    const meteo = await pendingBroadcast('meteo', PHONE);
    const strade = await pendingBroadcast('viabilita', PHONE);
    const othersMeteo = await pendingBroadcast('meteo', OTHER);
    const out = await say('Stop meteo!');
    expect(out.cancelled).toBe(1);
    expect([await stateOf(meteo), await stateOf(strade), await stateOf(othersMeteo)]).toEqual(['cancelled', 'pending', 'pending']);
    const unknown = await say('STOP CALCIO');
    expect((unknown.messages[0] as any).text.body).toContain('«CALCIO»');
  });

  it('plain STOP ends everything: the global opt-out and every topic, with their pending broadcasts', async () => {
    store = await testStore(dialect);
    await say('ISCRIVIMI METEO');
    await say('ISCRIVIMI NOTIZIE');
    const a = await pendingBroadcast('meteo', PHONE);
    const b = await pendingBroadcast('notizie', PHONE);
    const out = await say('STOP');
    expect(out.messages).toEqual([{ type: 'text', text: { body: wa.replies.optOut, preview_url: false } }]);
    expect([await stateOf(a), await stateOf(b)]).toEqual(['cancelled', 'cancelled']);
    expect(await store.knex('topic_subscriptions').where({ phone: PHONE, state: 'subscribed' })).toEqual([]);
    expect((await store.knex('consents').where({ phone: PHONE }).first()).state).toBe('opted_out');
    expect(await store.knex('consent_events').where({ phone: PHONE, action: 'opt_out' }).orderBy('id').select('topic', 'text', 'privacy_version', 'proof')).toEqual([
      { topic: null, text: 'STOP', privacy_version: '2026-09', proof: `wamid.t${n}` },
      { topic: 'meteo', text: 'STOP', privacy_version: '2026-09', proof: `wamid.t${n}` },
      { topic: 'notizie', text: 'STOP', privacy_version: '2026-09', proof: `wamid.t${n}` },
    ]);
    // It never needed the session.
    await store.knex('citizen_sessions').delete();
    expect((await say('basta')).handledAs).toBe('opt_out');
  });

  it('staff record an office opt-out, for one topic or for everything', async () => {
    store = await testStore(dialect);
    await say('ISCRIVIMI METEO');
    await say('ISCRIVIMI EVENTI');
    const a = await pendingBroadcast('meteo', PHONE);
    expect((await recordOptOut(store.knex, PHONE, 'meteo', 'office:URP', { at: now, note: 'modulo 12/2026' })).cancelled).toBe(1);
    expect(await stateOf(a)).toBe('cancelled');
    await recordOptOut(store.knex, PHONE, null, 'office:URP', { at: now + 1 });
    const rows = await store.knex('consent_events').where({ phone: PHONE, source: 'office:URP' }).orderBy('id').select('action', 'topic', 'text');
    expect(rows).toEqual([
      { action: 'opt_out', topic: 'meteo', text: 'modulo 12/2026' },
      { action: 'opt_out', topic: null, text: null },
      { action: 'opt_out', topic: 'eventi', text: null },
    ]);
  });

  it('the profile: why first, one question per attribute, "rather not say" stores nothing', async () => {
    store = await testStore(dialect);
    await say('ciao');
    await say('Privacy e i miei dati', { replyId: 'home:privacy' });
    const why = await say('Il mio profilo', { replyId: 'privacy:profilo' });
    expect(why.messages.map((m) => m.type)).toEqual(['text', 'interactive']);
    expect((why.messages[0] as any).text.body).toBe(service.profile!.why);
    await say('Da 30 a 49 anni', { replyId: 'sys:profile:ageBand:30-49' });
    const done = await say('Preferisco non dirlo', { replyId: 'sys:profile:area:-' });
    expect((done.messages[0] as any).text.body).toBe(service.texts.profileSaved);
    expect(await getProfile(store.knex, PHONE)).toEqual({ ageBand: '30-49' });
  });

  it('a STOP whose handling dies midway leaves nothing stored, so the same message retried is applied', async () => {
    store = await testStore(dialect);
    await say('ISCRIVIMI METEO');
    const meteo = await pendingBroadcast('meteo', PHONE);
    // A kill in the middle of the message's work: its topic opt-out write fails.
    let failOnce = true;
    store.knex.on('query', (q: { sql: string }) => {
      if (failOnce && /^insert into [`"]?topic_subscriptions/i.test(q.sql)) { failOnce = false; throw new Error('killed'); }
    });
    const stop = { id: 'wamid.stop', fromE164: PHONE, type: 'text', text: 'STOP METEO' } as const;
    await expect(handleCitizenMessage(stop, deps())).rejects.toThrow();
    expect(await store.knex('inbound_messages').where({ id: stop.id }).count({ n: '*' })).toEqual([{ n: 0 }]);
    expect(await stateOf(meteo)).toBe('pending');
    const retried = await handleCitizenMessage(stop, deps());
    expect(retried.duplicate).toBe(false);
    expect(await stateOf(meteo)).toBe('cancelled');
  });

  it('"Sì" typed to the erase question erases (it is not ISCRIVIMI\'s "SI"); "no" keeps everything', async () => {
    store = await testStore(dialect);
    const bodies = (o: Awaited<ReturnType<typeof say>>) => o.messages.map((m: any) => m.text?.body ?? m.interactive?.body?.text);
    await say('ISCRIVIMI METEO');
    await say('CANCELLA I MIEI DATI');
    const no = await say('No');
    expect(no.handledAs).toBe('choice:sys:erase:no');
    expect(await store.knex('topic_subscriptions').where({ phone: PHONE, state: 'subscribed' }).select('topic')).toEqual([{ topic: 'meteo' }]);
    for (const typed of ['Sì', 'Si, cancella']) {
      await say('ISCRIVIMI METEO');
      await say('CANCELLA I MIEI DATI');
      const yes = await say(typed);
      expect(yes.handledAs).toBe('choice:sys:erase:yes');
      expect(bodies(yes)).toEqual([service.texts.erased]);
      expect(await store.knex('topic_subscriptions').where({ phone: PHONE })).toEqual([]);
      expect(await store.knex('consent_events').where({ phone: PHONE, action: 'opt_in' })).toEqual([]);
    }
    // Away from that question, a bare "SI" is still the reminders opt-in.
    expect((await say('SI')).handledAs).toBe('opt_in');
  });

  it('an erasure unlinks the number from the messages kept against repeated webhooks; I MIEI DATI counts them all', async () => {
    store = await testStore(dialect);
    await say('ciao');
    await say('orari');
    now += 91 * 24 * 3600_000; // a text retention removed is still one of the citizen's messages
    await store.knex('inbound_messages').where({ phone: PHONE }).update({ text: null });
    const mine = await say('I MIEI DATI');
    expect((mine.messages[0] as any).text.body).toContain('• Messaggi che ci hai scritto: 3');
    expect((mine.messages[0] as any).text.body).toMatch(/ultimo messaggio \d{1,2} \w+ 2027 alle ore 10:00/); // Rome time, not UTC
    await say('CANCELLA I MIEI DATI');
    const erasureId = `wamid.t${n + 1}`;
    await say('Sì');
    expect(await store.knex('inbound_messages').where({ phone: PHONE })).toEqual([]);
    const kept = await store.knex('inbound_messages').orderBy('received_at').select('id', 'phone', 'text', 'handled_as');
    expect(kept).toHaveLength(5); // ciao, orari, I MIEI DATI, CANCELLA I MIEI DATI, Sì
    expect(kept.every((r: any) => r.phone === '-' && r.text === null)).toBe(true);
    expect(kept.slice(0, 4).every((r: any) => r.handled_as === null)).toBe(true);
    // Meta repeating the erasure's own webhook (or an older ISCRIVIMI) is still recognised.
    expect((await handleCitizenMessage({ id: erasureId, fromE164: PHONE, type: 'text', text: 'Sì' }, deps())).duplicate).toBe(true);
  });

  it('the privacy notice goes with a first opt-in, so the version recorded is one the citizen was shown', async () => {
    store = await testStore(dialect);
    const first = await say('ISCRIVIMI METEO');
    expect(first.messages.map((m: any) => m.text.body)).toEqual([
      service.texts.subscribed.replace('{{topic}}', 'Allerte meteo').replace('{{keyword}}', 'METEO'),
      service.privacy.text,
    ]);
    expect(await store.knex('consent_events').where({ phone: PHONE, topic: 'meteo' }).select('action', 'privacy_version')).toEqual([{ action: 'opt_in', privacy_version: service.privacy.version }]);
    // Shown once: the next opt-ins just confirm.
    expect((await say('ISCRIVIMI NOTIZIE')).messages).toHaveLength(1);
    expect((await say('ISCRIVIMI')).messages).toHaveLength(1);
    // A new number's first global opt-in gets it too.
    expect((await say('ISCRIVIMI', { phone: OTHER })).messages.map((m: any) => m.text.body)).toEqual([wa.replies.optIn, service.privacy.text]);
  });

  it('topics are found in natural phrasings: "Iscrivimi al meteo", "stop agli avvisi meteo", the topic\'s title', async () => {
    store = await testStore(dialect);
    expect((await say('Iscrivimi al meteo')).handledAs).toBe('opt_in:meteo');
    expect((await say('stop agli avvisi meteo')).handledAs).toBe('opt_out:meteo');
    expect((await say('iscrivimi alle allerte meteo')).handledAs).toBe('opt_in:meteo');
    const unknown = await say('iscrivimi al calcio');
    expect(unknown.handledAs).toBe('unknown-topic');
  });

  it('a hand-off nobody took: the waiting answer is rewritten, or, already sent, followed by the notice', async () => {
    store = await testStore(dialect);
    const k = store.knex;
    const ask = async () => {
      await say('operatore');
      return { event: 'handoff' as const, conversation: { phone: PHONE, state: 'waiting_human', officeOpen: true }, messages: [{ id: `wamid.t${n}`, type: 'text', text: 'operatore', at: now }] };
    };
    const notice = service.texts.handoffUnavailable.replace('{{link}}', service.handoff.link ?? '');
    const bodies = async (inbound: string) => ((await k('reply_outbox').where({ inbound_id: inbound }).orderBy('seq').pluck('message')) as string[]).map((m) => (JSON.parse(m) as { text: { body: string } }).text.body);

    const first = await ask();
    expect(await handoffNotTaken(k, service, first, now)).toEqual({ inboundId: first.messages[0]!.id });
    expect(await bodies(first.messages[0]!.id)).toEqual([notice]);
    expect((await getSession(k, PHONE))!.handoff).toBe('bot');
    expect(await handoffNotTaken(k, service, first, now)).toBeNull(); // moved on: nothing more

    const second = await ask();
    await k('reply_outbox').where({ inbound_id: second.messages[0]!.id }).update({ state: 'sent' }); // the sweep was quicker
    expect(await handoffNotTaken(k, service, second, now)).toEqual({ inboundId: `${second.messages[0]!.id}:not-taken` });
    expect(await bodies(`${second.messages[0]!.id}:not-taken`)).toEqual([notice]);
  });

  it('an expired session reads the choice against the home menu; a duplicate webhook is ignored', async () => {
    store = await testStore(dialect);
    await say('ciao');
    await say('B'); // anagrafe
    expect((await getSession(store.knex, PHONE))!.menu).toBe('anagrafe');
    now += (service.idleTimeoutMinutes + 1) * 60_000;
    const out = await say('A'); // home's A: info, not anagrafe's A
    expect(out.handledAs).toBe('choice:home:info');
    const dup = await handleCitizenMessage({ id: `wamid.t${n}`, fromE164: PHONE, type: 'text', text: 'A' }, deps());
    expect(dup).toMatchObject({ duplicate: true, messages: [] });
  });
});
