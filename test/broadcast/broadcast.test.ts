// Broadcasts through the real dispatcher and the WhatsApp sandbox: one template message per
// subscribed citizen, fan-out idempotent across a crash midway, a topic opt-out honoured at send
// time, categories checked, IO refused, and the messaging limit spreading a big one over days.
import { afterEach, describe, expect, it } from 'vitest';
import { availableDialects } from '../helpers/databases.js';
import { reminder, citizen } from '../helpers/pipeline.js';
import { makeWaPipeline, whatsappOnly, type WaPipeline } from '../helpers/pipeline-whatsapp.js';
import { loadCitizenService } from '../../src/citizen/service/index.js';
import { citizenServiceSchema, whatsappSchema } from '../../src/config/schema.js';
import { createBroadcast, planBroadcast, cancelBroadcast, broadcastStatus, type BroadcastDeps } from '../../src/broadcast/create.js';
import { saveMessagingLimit } from '../../src/broadcast/messaging-limit.js';
import { planDays } from '../../src/broadcast/plan.js';
import { IO_REFUSAL, type BroadcastRequest } from '../../src/broadcast/validate.js';
import { recordConsent } from '../../src/store/consent.js';
import type { Knex } from 'knex';

const { run, skipped } = await availableDialects(['sqlite', 'postgres']);
if (skipped.length) console.warn(`[broadcast] skipped: ${skipped.join('; ')}`);

const service = loadCitizenService('config/citizen-service.yaml').service;
const settings = citizenServiceSchema.parse({});
const templates = whatsappSchema.shape.templates.parse({ allerta_meteo: { category: 'utility', params: 1 }, notizie_comune: { category: 'marketing', params: 1 } });
const PHONE_ID = '106540352242922';
const DAY = 86_400_000;
const phone = (i: number) => `+39347${String(1_000_000 + i).padStart(7, '0')}`;

async function subscribe(knex: Knex, phones: string[], topic: string, attributes?: (i: number) => Record<string, string>) {
  const now = Date.now();
  for (let i = 0; i < phones.length; i += 500) {
    await knex('topic_subscriptions').insert(phones.slice(i, i + 500).map((p) => ({ phone: p, topic, state: 'subscribed', updated_at: now })));
  }
  if (attributes) await knex('citizen_profiles').insert(phones.map((p, i) => ({ phone: p, attributes: JSON.stringify(attributes(i)), updated_at: now })));
}

const alert = (over: Partial<BroadcastRequest> = {}): BroadcastRequest => ({
  key: 'allerta-2026-11-24', topic: 'meteo', template: 'allerta_meteo', params: ['Allerta arancione per piogge dalle 14 di oggi'], source: 'test', urgent: true, ...over,
});

describe.each(run)('broadcasts on %s', (dialect) => {
  let p: WaPipeline;
  afterEach(async () => { await p?.close(); });
  const deps = (over: Partial<BroadcastDeps> = {}): BroadcastDeps => ({ knex: p.store.knex, service, settings, templates, phoneNumberId: PHONE_ID, ...over });

  it('sends one template per subscriber, once, even when created again after a crash midway', async () => {
    p = await makeWaPipeline(dialect, { deliver: whatsappOnly });
    const subs = [1, 2, 3, 4, 5].map(phone);
    await subscribe(p.store.knex, subs, 'meteo');
    await subscribe(p.store.knex, [phone(6)], 'notizie');
    await p.store.knex('topic_subscriptions').insert({ phone: phone(7), topic: 'meteo', state: 'unsubscribed', updated_at: Date.now() });

    const first = await createBroadcast(alert(), deps());
    expect(first).toMatchObject({ audience: 5, created: 5, alreadyThere: 0, days: [5] });
    // Dedup keys are kept for good: they name the recipient by pseudonym, not by number.
    const keys = (await p.store.knex('events').where({ type: 'broadcast' }).pluck('dedup_key')) as string[];
    expect(keys).toHaveLength(5);
    for (const k of keys) expect(k).toMatch(/^allerta-2026-11-24:r[A-Za-z0-9_-]{20}$/);
    await p.settle();
    // The operator (or a restarted cron) creates it again: nothing new, nothing resent.
    const again = await createBroadcast(alert(), deps());
    expect(again).toMatchObject({ id: first.id, created: 0, alreadyThere: 5 });
    await p.settle();

    const sends = p.waSandbox.sends.filter((s) => s.type === 'template');
    expect(sends.map((s) => s.to).sort()).toEqual(subs);
    expect(sends[0]!.template).toMatchObject({ name: 'allerta_meteo', language: 'it', body: ['Allerta arancione per piogge dalle 14 di oggi'] });
    expect(Object.values(await p.states()).filter((s) => s === 'processed')).toHaveLength(5);
  });

  it('keeps to the account throughput (80/s in production, 20/s here) with no 130429 from the sandbox', async () => {
    p = await makeWaPipeline(dialect, { deliver: whatsappOnly, wa: { throughputPerSecond: 20 }, throughputPerSecond: 20, timeoutMs: 10_000, cfg: { concurrency: 16, batchSize: 50 } });
    const subs = Array.from({ length: 60 }, (_, i) => phone(100 + i));
    await subscribe(p.store.knex, subs, 'meteo');
    await createBroadcast(alert({ key: 'pace' }), deps());
    await p.settle({ timeoutMs: 30_000 });
    const stats = p.waSandbox.stats();
    expect(stats.limited).toBe(0);
    expect(stats.maxInAnyWindow).toBeLessThanOrEqual(20);
    expect(new Set(p.waSandbox.sends.map((s) => s.to)).size).toBe(60);
    expect(p.waSandbox.sends).toHaveLength(60);
  }, 40_000);

  it('honours a topic opt-out and a plain STOP written after the broadcast was planned', async () => {
    p = await makeWaPipeline(dialect, { deliver: whatsappOnly });
    await subscribe(p.store.knex, [1, 2, 3].map(phone), 'meteo');
    await createBroadcast(alert(), deps());
    await p.store.knex('topic_subscriptions').where({ phone: phone(2), topic: 'meteo' }).update({ state: 'unsubscribed' });
    await recordConsent(p.store.knex, { phone: phone(3), action: 'opt_out', source: 'test', at: Date.now() });
    await p.settle();
    expect(p.waSandbox.sends.map((s) => s.to)).toEqual([phone(1)]);
  });

  it('narrows to a segment and reports the audience per segment in the dry run', async () => {
    p = await makeWaPipeline(dialect, { deliver: whatsappOnly });
    await subscribe(p.store.knex, [1, 2, 3, 4].map(phone), 'viabilita', (i) => ({ area: i < 3 ? 'centro' : 'colle' }));
    const plan = await planBroadcast(alert({ topic: 'viabilita', key: 'lavori', segment: { area: ['centro'] } }), deps());
    expect(plan.audience).toBe(3);
    expect(plan.bySegment.area).toEqual({ centro: 3 });
    expect(plan.payload).toEqual({
      messaging_product: 'whatsapp', recipient_type: 'individual', to: '+39********', type: 'template',
      template: { name: 'allerta_meteo', language: { code: 'it', policy: 'deterministic' }, components: [{ type: 'body', parameters: [{ type: 'text', text: 'Allerta arancione per piogge dalle 14 di oggi' }] }] },
    });
    expect(await p.store.knex('events').count({ n: '*' }).first()).toMatchObject({ n: expect.anything() });
    expect(Number((await p.store.knex('deliveries').count({ n: '*' }).first())?.n)).toBe(0); // a dry run writes nothing
  });

  it('refuses a template of the wrong category, either way, and IO, before writing anything', async () => {
    p = await makeWaPipeline(dialect, { deliver: whatsappOnly });
    await subscribe(p.store.knex, [1].map(phone), 'meteo');
    await expect(createBroadcast(alert({ template: 'notizie_comune' }), deps())).rejects.toThrow(/approved as MARKETING but topic "meteo" is UTILITY/);
    await expect(createBroadcast(alert({ topic: 'notizie', template: 'allerta_meteo' }), deps())).rejects.toThrow(/approved as UTILITY but topic "notizie" is MARKETING/);
    await expect(createBroadcast(alert({ channel: 'appio' }), deps())).rejects.toThrow(IO_REFUSAL);
    await expect(createBroadcast(alert({ segment: { shoeSize: ['42'] } }), deps())).rejects.toThrow(/unknown attribute "shoeSize"/);
    // One citizen's fiscal code would reach every subscriber; the refusal does not repeat it.
    const leak = createBroadcast(alert({ params: ['Pratica di rssmra80a01h501u approvata'] }), deps());
    await expect(leak).rejects.toThrow('params[0]: holds a fiscal code; a broadcast goes to every subscriber, so it must carry no one\'s personal data; nothing was sent');
    expect(await p.store.knex('broadcasts').count({ n: '*' }).first()).toMatchObject({ n: 0 });
  });

  it('spreads a broadcast larger than the messaging limit over days, reminders still going out, and cancels what is left', async () => {
    p = await makeWaPipeline(dialect, { deliver: whatsappOnly });
    const t0 = Date.now();
    await saveMessagingLimit(p.store.knex, PHONE_ID, { limit: 20, tier: 'TIER_20_TEST' }, t0);
    const subs = Array.from({ length: 50 }, (_, i) => phone(i));
    await subscribe(p.store.knex, subs, 'notizie');
    const b = await createBroadcast(alert({ key: 'notizie-1', topic: 'notizie', template: 'notizie_comune', urgent: false, at: t0 }), deps({ now: t0 }));
    expect(b.days).toEqual([18, 18, 14]); // 10 % of each day's 20 kept for reminders

    // A reminder for another citizen on day 0 goes out beside the broadcast's first 180.
    await recordConsent(p.store.knex, { phone: '+393470009999', action: 'opt_in', source: 'test', at: t0 });
    p.backoffice.events = [reminder(9999, { recipient: { fiscalCode: citizen(9999), phone: '347 000 9999' } })];
    await p.poll();
    const noon = (d: number) => t0 + d * DAY + 60_000;
    // Later days' deliveries stay pending: wait only for what is due at `at`.
    const settleAt = async (at: number) => {
      const d = p.dispatcher({ clock: () => at });
      for (let i = 0; i < 400; i++) {
        await d.drain();
        const open = await p.store.knex('deliveries').where((q) => q.whereIn('state', ['accepted', 'sending']).orWhere((w) => w.where('state', 'pending').where('next_attempt_at', '<=', at))).count({ n: '*' }).first();
        if (Number(open?.n) === 0) return;
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error(`not settled at day ${(at - t0) / DAY}: ${JSON.stringify(await p.states())}`);
    };
    await settleAt(noon(0));
    expect(p.waSandbox.sends.filter((s) => s.template?.name === 'notizie_comune')).toHaveLength(18);
    expect(p.waSandbox.sends.filter((s) => s.to === '+393470009999')).toHaveLength(1);
    await settleAt(noon(1));
    expect(p.waSandbox.sends.filter((s) => s.template?.name === 'notizie_comune')).toHaveLength(36);
    expect(await cancelBroadcast(p.store.knex, b.id, noon(1))).toEqual({ cancelled: 14 });
    await settleAt(noon(2));
    expect(new Set(p.waSandbox.sends.map((s) => s.to)).size).toBe(37);
  }, 60_000);
});

describe('messaging-limit plan', () => {
  it('5,000 citizens at the 2,000 tier take three days', () => {
    expect(planDays({ audience: 5000, limit: 2000, booked: [0], reserve: 0.1 })).toEqual([1800, 1800, 1400]);
  });
  it('counts citizens already reached today and is unlimited at TIER_UNLIMITED', () => {
    expect(planDays({ audience: 2000, limit: 2000, booked: [1500], reserve: 0.1 })).toEqual([300, 1700]);
    expect(planDays({ audience: 2000, limit: -1, booked: [1500], reserve: 0.1 })).toEqual([2000]);
  });
});

describe('broadcast status', () => {
  const now = Date.UTC(2026, 11, 5, 9);
  const row = (status: string, scheduledAt = now - DAY) => ({ status, scheduledAt });
  it('comes from the deliveries: done once all are final, whatever the row said at creation', () => {
    expect(broadcastStatus(row('sending'), { processed: 4, failed: 1, expired: 1 }, now)).toBe('done');
    expect(broadcastStatus(row('scheduled'), {}, now)).toBe('done'); // an empty audience has nothing left to send
    expect(broadcastStatus(row('scheduled'), { processed: 3, pending: 2 }, now)).toBe('sending'); // day 2 of 2
    expect(broadcastStatus(row('sending'), { processed: 3, uncertain: 1 }, now)).toBe('sending'); // held for an operator
    expect(broadcastStatus(row('scheduled', now + 60_000), { pending: 5 }, now)).toBe('scheduled');
    expect(broadcastStatus(row('sending', now), { pending: 5 }, now)).toBe('sending');
  });
  it('an operator\'s cancel stays cancelled', () => {
    expect(broadcastStatus(row('cancelled'), { processed: 2, cancelled: 3 }, now)).toBe('cancelled');
  });
});
