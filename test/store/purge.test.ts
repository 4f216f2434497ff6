// Retention purge on every store dialect: finished-and-old events lose their personal content and
// their logs; anything recent or still in flight keeps everything; the ledger still dedups.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { availableDialects } from '../helpers/databases.js';
import { testStore, type TestStore } from '../helpers/store.js';
import { ponte, scratchWorkdir } from '../helpers/cli.js';
import { commitBatch, type NewEvent } from '../../src/store/commit-batch.js';
import { logAttempt } from '../../src/store/attempts.js';
import { recordStatus } from '../../src/store/whatsapp-statuses.js';
import { purge, PURGED_FISCAL_CODE, type PurgeResult } from '../../src/store/purge.js';
import { migrateLatest, openStore } from '../../src/store/db.js';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/errors.js';
import type { DeliveryState } from '../../src/store/states.js';

const { run, skipped } = await availableDialects(['sqlite', 'postgres']);
if (skipped.length) console.warn(`[purge] skipped: ${skipped.join('; ')}`);

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 10, 9, 0, 0);
const NOW = T0 + 200 * DAY;
const OLD = NOW - 120 * DAY; // finished before the 90-day cutoff
const RECENT = NOW - 10 * DAY; // finished inside the retention
const PHONE = '+393331234567';
const CF = 'RSSMRA80A01H501U';

const appio = { channel: 'appio', options: { service: 'anagrafe' } };
const whatsapp = { channel: 'whatsapp', options: { template: 'promemoria', language: 'it', body: [], buttons: [] } };

/** An event routed to all of `channels` (one delivery each), with a phone for WhatsApp. */
function ev(key: string, channels: Array<typeof appio | typeof whatsapp>): NewEvent {
  return {
    key, type: 'appointment.reminder', fiscalCode: CF, phone: PHONE, data: { name: 'Mario', when: key },
    route: { mode: 'all', steps: channels },
    deliveries: channels.map((c, i) => ({ ...c, routeIndex: i, address: c.channel === 'whatsapp' ? PHONE : null })),
  };
}

/** Per event: the final (or not) state and finish time of each of its deliveries, by channel. */
const SCENARIO: Array<{ key: string; channels: Array<typeof appio | typeof whatsapp>; set: Record<string, [DeliveryState, number | null]> }> = [
  { key: 'old-processed', channels: [appio, whatsapp], set: { appio: ['processed', OLD], whatsapp: ['processed', OLD + DAY] } },
  { key: 'old-failed', channels: [appio], set: { appio: ['failed', OLD] } },
  { key: 'old-dead-wa', channels: [whatsapp], set: { whatsapp: ['dead', OLD] } },
  { key: 'recent-processed', channels: [appio], set: { appio: ['processed', RECENT] } },
  { key: 'old-and-recent', channels: [appio, whatsapp], set: { appio: ['skipped', OLD], whatsapp: ['processed', RECENT] } },
  { key: 'old-pending', channels: [appio], set: { appio: ['pending', null] } },
  { key: 'old-accepted', channels: [whatsapp], set: { whatsapp: ['accepted', null] } },
  { key: 'old-uncertain', channels: [appio], set: { appio: ['uncertain', null] } },
  { key: 'old-mixed', channels: [appio, whatsapp], set: { appio: ['processed', OLD], whatsapp: ['accepted', null] } },
];
const PURGED_KEYS = ['old-processed', 'old-failed', 'old-dead-wa'];

async function build(knex: Knex): Promise<void> {
  await commitBatch(knex, { instanceId: 'i1', events: SCENARIO.map((s) => ev(s.key, s.channels)), cancellations: [], rowErrors: [], now: T0 });
  const rows = (await knex('deliveries as d').join('events as e', 'e.id', 'd.event_id').select('d.id', 'd.channel', 'e.dedup_key')) as { id: number; channel: string; dedup_key: string }[];
  for (const d of rows) {
    const [state, finished] = SCENARIO.find((s) => s.key === d.dedup_key)!.set[d.channel]!;
    const wamid = d.channel === 'whatsapp' && state !== 'pending' ? `wamid.${d.dedup_key}` : null;
    await knex('deliveries').where({ id: d.id }).update({ state, finished_at: finished, updated_at: finished ?? T0 + DAY, provider_id: wamid, sent_at: wamid ? T0 + DAY : null });
    await logAttempt(knex, { deliveryId: d.id, kind: 'send', startedAt: T0 + DAY, durationMs: 120, outcome: 'accepted', httpStatus: 201 });
    await logAttempt(knex, { deliveryId: d.id, kind: 'status', startedAt: T0 + 2 * DAY, durationMs: 80, outcome: state, httpStatus: 200 });
    if (wamid) {
      await recordStatus(knex, { wamid, status: 'sent', timestamp: T0 + DAY, deliveryId: d.id }, T0 + DAY);
      await recordStatus(knex, { wamid, status: 'delivered', timestamp: T0 + DAY }, T0 + DAY);
      // An earlier send of the same delivery (resent after being uncertain): linked only by delivery id.
      await recordStatus(knex, { wamid: `${wamid}.first`, status: 'failed', timestamp: T0, deliveryId: d.id }, T0);
    }
  }
  await knex('inbound_messages').insert([
    { id: 'wamid.in-old', phone: PHONE, type: 'text', text: 'STOP per favore, sono Mario Rossi', handled_as: 'opt_out', received_at: OLD },
    { id: 'wamid.in-recent', phone: PHONE, type: 'text', text: 'ISCRIVIMI', handled_as: 'opt_in', received_at: RECENT },
  ]);
  await knex('reply_outbox').insert([
    { inbound_id: 'wamid.in-old', phone: PHONE, seq: 0, message: '{"type":"text","text":{"body":"Non riceverai più messaggi"}}', state: 'sent', created_at: OLD, sent_at: OLD },
    { inbound_id: 'wamid.in-recent', phone: PHONE, seq: 0, message: '{"type":"text","text":{"body":"Iscrizione confermata"}}', state: 'sent', created_at: RECENT, sent_at: RECENT },
  ]);
}

const TABLES = ['events', 'deliveries', 'delivery_attempts', 'whatsapp_statuses', 'inbound_messages', 'reply_outbox'] as const;

async function snapshot(knex: Knex): Promise<Record<string, Record<string, unknown>[]>> {
  const out: Record<string, Record<string, unknown>[]> = {};
  for (const t of TABLES) out[t] = (await knex(t).select('*').orderBy('id')) as Record<string, unknown>[];
  return out;
}

/** Rows of the snapshot that belong to events with these keys. */
function rowsOf(s: Record<string, Record<string, unknown>[]>, keys: string[]) {
  const events = s.events!.filter((e) => keys.includes(String(e.dedup_key)));
  const eventIds = new Set(events.map((e) => e.id));
  const deliveries = s.deliveries!.filter((d) => eventIds.has(d.event_id));
  const deliveryIds = new Set(deliveries.map((d) => d.id));
  const wamids = new Set(deliveries.map((d) => d.provider_id).filter(Boolean));
  return {
    events, deliveries,
    attempts: s.delivery_attempts!.filter((a) => deliveryIds.has(a.delivery_id)),
    statuses: s.whatsapp_statuses!.filter((w) => deliveryIds.has(w.delivery_id) || wamids.has(w.wamid)),
  };
}

const EXPECTED: Omit<PurgeResult, 'dryRun'> = {
  cutoff: NOW - 90 * DAY,
  events: 3,
  addresses: 2, // old-processed and old-dead-wa have a WhatsApp delivery
  attempts: 8, // two per delivery: old-processed 2 deliveries, old-failed 1, old-dead-wa 1
  whatsappStatuses: 6, // sent, delivered and the earlier failed send, for two WhatsApp deliveries
  inbound: 1,
  replies: 1,
};

describe.each(run)('retention purge on %s', (dialect) => {
  let store: TestStore;
  beforeEach(async () => {
    store = await testStore(dialect);
    await build(store.knex);
  });
  afterEach(async () => { await store.close(); });

  it('dry run counts what a purge removes and changes nothing', async () => {
    const before = await snapshot(store.knex);
    const dry = await purge(store.knex, { now: NOW, days: 90, dryRun: true });
    expect(dry).toEqual({ ...EXPECTED, dryRun: true });
    expect(await snapshot(store.knex)).toEqual(before);
    // Small chunks page through the same rows: the same counts.
    expect(await purge(store.knex, { now: NOW, days: 90, dryRun: true, chunkSize: 2 })).toEqual(dry);
    expect(await purge(store.knex, { now: NOW, days: 90, chunkSize: 2 })).toEqual({ ...EXPECTED, dryRun: false });
  });

  it('finished-and-old events lose payload, phone, fiscal code, address, attempts and statuses; the rest stays', async () => {
    const before = await snapshot(store.knex);
    const r = await purge(store.knex, { now: NOW, days: 90, chunkSize: 2 });
    expect(r).toEqual({ ...EXPECTED, dryRun: false });
    const after = await snapshot(store.knex);

    const was = rowsOf(before, PURGED_KEYS);
    const now = rowsOf(after, PURGED_KEYS);
    expect(now.events).toEqual(was.events.map((e) => ({ ...e, payload: null, phone: null, fiscal_code: PURGED_FISCAL_CODE })));
    // Delivery history stays: states, timestamps, provider ids, reasons. Only the number goes.
    expect(now.deliveries).toEqual(was.deliveries.map((d) => ({ ...d, address: null })));
    expect(was.attempts).toHaveLength(8);
    expect(now.attempts).toEqual([]);
    expect(was.statuses).toHaveLength(6);
    expect(now.statuses).toEqual([]);
    expect(JSON.stringify(now)).not.toContain(PHONE);
    expect(JSON.stringify(now)).not.toContain(CF);

    // Recent ones, and ones with any delivery still in flight, keep every row untouched.
    const kept = SCENARIO.map((s) => s.key).filter((k) => !PURGED_KEYS.includes(k));
    expect(rowsOf(after, kept)).toEqual(rowsOf(before, kept));
    expect(rowsOf(before, kept).attempts.length).toBeGreaterThan(0);

    // The old message is gone, number and text; the recent one stays as it was.
    expect(after.inbound_messages).toEqual([
      before.inbound_messages!.find((m) => m.id === 'wamid.in-recent'),
    ].sort((a, b) => String(a!.id).localeCompare(String(b!.id))));
    // The old reply (the number and the text) is gone; the recent one stays.
    expect(after.reply_outbox!.map((r) => r.inbound_id)).toEqual(['wamid.in-recent']);
  });

  it('the ledger still dedups purged events, and a second purge finds nothing new', async () => {
    await purge(store.knex, { now: NOW, days: 90 });
    const snap = await snapshot(store.knex);
    const again = await commitBatch(store.knex, { instanceId: 'i1', events: PURGED_KEYS.map((k) => ev(k, [appio])), cancellations: [], rowErrors: [], now: NOW });
    expect(again).toMatchObject({ inserted: 0, duplicates: 3, cancelled: 0 });
    expect(await snapshot(store.knex)).toEqual(snap);

    const second = await purge(store.knex, { now: NOW + DAY, days: 90 });
    expect(second).toEqual({ dryRun: false, cutoff: NOW + DAY - 90 * DAY, events: 0, addresses: 0, attempts: 0, whatsappStatuses: 0, inbound: 0, replies: 0 });
    expect(await snapshot(store.knex)).toEqual(snap);
  });

  it('a shorter retention reaches the recent ones once all their deliveries are final', async () => {
    const r = await purge(store.knex, { now: NOW, days: 5 });
    // + recent-processed and old-and-recent (now both past the cutoff); in-flight ones still kept.
    expect(r).toMatchObject({ events: 5, addresses: 3, inbound: 2 });
    const left = (await store.knex('events').whereNotNull('payload').orderBy('dedup_key').pluck('dedup_key')) as string[];
    expect(left).toEqual(['old-accepted', 'old-mixed', 'old-pending', 'old-uncertain']);
  });

  it('keeps inbound messages 7 days whatever the retention: Meta may repeat a webhook that long', async () => {
    await store.knex('inbound_messages').insert({ id: 'wamid.in-3d', phone: PHONE, type: 'text', text: 'ISCRIVIMI METEO', handled_as: 'opt_in', received_at: NOW - 3 * DAY });
    const r = await purge(store.knex, { now: NOW, days: 1 });
    expect(r.inbound).toBe(2); // the 120- and 10-day-old ones
    expect(await store.knex('inbound_messages').pluck('id')).toEqual(['wamid.in-3d']);
  });

  it('refuses a retention that is not a whole number of days ≥ 1', async () => {
    await expect(purge(store.knex, { now: NOW, days: 0 })).rejects.toThrow('retention days must be a whole number ≥ 1, not 0');
    await expect(purge(store.knex, { now: NOW, days: 1.5 })).rejects.toThrow('not 1.5');
  });
});

describe('retention config', () => {
  it('defaults to 90 days at 03:30, and names a wrong setting', () => {
    expect(parseConfig('{}', 'ponte.yaml').retention).toEqual({ days: 90, schedule: '30 3 * * *' });
    expect(parseConfig('retention: { days: 30 }', 'ponte.yaml').retention).toEqual({ days: 30, schedule: '30 3 * * *' });
    const problems = (text: string) => { try { parseConfig(text, 'ponte.yaml'); return ''; } catch (e) { return (e as ConfigError).message; } };
    expect(problems('retention: { days: 0 }')).toContain('retention.days');
    expect(problems('retention: { schedule: "daily" }')).toContain('retention.schedule');
    expect(problems('retention: { dayz: 30 }')).toContain('dayz');
  });
});

describe('ponte purge (CLI)', () => {
  it('reports in --dry-run, purges without it, and rejects a bad --days', async () => {
    const cwd = scratchWorkdir();
    const store = openStore({ client: 'sqlite', filename: join(cwd, 'data/ponte.sqlite') });
    const now = Date.now();
    try {
      await migrateLatest(store);
      await commitBatch(store.knex, { instanceId: 'i1', events: [ev('cli-old', [appio])], cancellations: [], rowErrors: [], now: now - 200 * DAY });
      await store.knex('deliveries').update({ state: 'processed', finished_at: now - 100 * DAY, updated_at: now - 100 * DAY });
    } finally {
      await store.close();
    }

    const dry = await ponte(['purge', '--dry-run', '--json'], { cwd });
    expect(dry.code, dry.stderr).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({ dryRun: true, days: 90, events: 1, attempts: 0, inbound: 0 });

    const human = await ponte(['purge', '--days', '120'], { cwd });
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/Retention 120 days: purged what finished before .*\n {2}events \(payload, phone, fiscal code\) +0\n/);

    const done = await ponte(['purge', '--json'], { cwd });
    expect(JSON.parse(done.stdout)).toMatchObject({ dryRun: false, events: 1 });
    expect(JSON.stringify(JSON.parse(done.stdout))).not.toContain(CF);

    const bad = await ponte(['purge', '--days', 'ninety'], { cwd });
    expect(bad.code).toBe(2); // a usage error
    expect(bad.stderr).toContain('--days must be a whole number of days ≥ 1, not "ninety"');
  });
});
