// Upgrading a store that an earlier release filled: the fixture is every row of a real SQLite store
// written by the release whose last migration was 004 (demo, an incremental connector with a cursor,
// a crash after a POST left two sends uncertain, a delivery dead after its retries, a superseded
// appointment, consents in and out, a broadcast whose dedup key still holds the phone number). It
// is loaded at migration 004, migrated to the latest, and must keep every promise it made: no
// event sent twice, uncertain still held, opt-outs still honoured, cursors where they were.
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { Knex } from 'knex';
import { availableDialects, scratchDb, type ScratchDb } from '../helpers/databases.js';
import { migrateLatest, migrationsCurrent, storeFromKnex, type Store } from '../../src/store/db.js';
import { migrationSource } from '../../migrations/index.js';
import { commitBatch, type NewEvent } from '../../src/store/commit-batch.js';
import { claimDeliveries } from '../../src/store/claim-deliveries.js';
import { recoverStaleSends } from '../../src/store/recover-stale.js';
import { isOptedIn } from '../../src/store/consent.js';
import { readCursor } from '../../src/store/lease.js';
import { statusReport } from '../../src/store/status.js';
import { listDeliveries } from '../../src/store/operator.js';
import { createBroadcast } from '../../src/broadcast/create.js';
import { loadCitizenService } from '../../src/citizen/service/index.js';
import { citizenServiceSchema, whatsappSchema } from '../../src/config/schema.js';

const { run, skipped } = await availableDialects(['sqlite', 'postgres']);
if (skipped.length) console.warn(`[upgrade] skipped: ${skipped.join('; ')}`);

type Row = Record<string, unknown>;
const fixture = JSON.parse(readFileSync(new URL('../fixtures/upgrade/store-004.json', import.meta.url), 'utf8')) as Record<string, Row[]> & { knex_migrations: string[] };
// Parents before children (foreign keys).
const TABLES = ['connector_state', 'connector_runs', 'events', 'deliveries', 'delivery_attempts', 'row_errors', 'whatsapp_statuses',
  'inbound_messages', 'consents', 'consent_events', 'channel_alerts', 'citizen_sessions', 'topic_subscriptions', 'citizen_profiles',
  'broadcasts', 'whatsapp_account'];
const BOOLEAN_COLUMNS: Record<string, string[]> = { broadcasts: ['urgent'] };

/** The store as the old release left it: its migrations only, then its rows. */
async function oldStore(db: ScratchDb): Promise<Store> {
  const store = storeFromKnex(db.knex);
  const old = fixture.knex_migrations;
  await db.knex.migrate.latest({ migrationSource: { ...migrationSource, getMigrations: async () => old } });
  for (const table of TABLES) {
    const rows = fixture[table]!.map((r) => {
      const row = { ...r };
      for (const c of BOOLEAN_COLUMNS[table] ?? []) row[c] = Boolean(row[c]);
      return row;
    });
    if (rows.length) await db.knex(table).insert(rows);
    // Rows came with their ids: PostgreSQL's sequences must move past them, as the old release's inserts did.
    if (store.dialect === 'postgres' && rows.length && 'id' in rows[0]!) {
      const { rows: [seq] } = await db.knex.raw(`select pg_get_serial_sequence(?, 'id') as s`, [table]) as { rows: Array<{ s: string | null }> };
      if (seq?.s) await db.knex.raw('select setval(?::regclass, (select max(id) from ??))', [seq.s, table]);
    }
  }
  return store;
}

const deliveriesById = async (knex: Knex) => ((await knex('deliveries').orderBy('id')) as Row[]).map((d) => ({ ...d, id: Number(d.id), event_id: Number(d.event_id), state: String(d.state) }));

/** A connector's event as a poll would make it again from the same back-office row. */
function again(e: Row): NewEvent {
  return {
    key: String(e.dedup_key), type: String(e.type), fiscalCode: String(e.fiscal_code), data: JSON.parse(String(e.payload ?? '{}')) as Record<string, unknown>,
    route: e.route ? JSON.parse(String(e.route)) : { mode: 'first', steps: [{ channel: 'appio', options: {} }] },
    deliveries: [{ channel: 'appio', options: {}, routeIndex: 0, address: null }],
  };
}

describe.each(run)('upgrading a store filled by the release at migration 004, on %s', (dialect) => {
  let db: ScratchDb | undefined;
  afterEach(async () => { await db?.destroy(); db = undefined; });

  it('migrates, and keeps every delivery, the dedup ledger, uncertain sends, consents and cursors', async () => {
    db = await scratchDb(dialect);
    const store = await oldStore(db);
    const before = await deliveriesById(db.knex);
    expect(new Set(before.map((d) => d.state))).toEqual(new Set(['processed', 'cancelled', 'skipped', 'pending', 'uncertain', 'dead']));
    expect(await migrationsCurrent(store)).toBe(false);

    const applied = await migrateLatest(store);
    expect(applied).toEqual((await migrationSource.getMigrations([])).filter((m) => !fixture.knex_migrations.includes(m)));
    expect(await migrationsCurrent(store)).toBe(true);

    // Every delivery exactly as it was: state, reason, provider id, attempts, due time.
    expect(await deliveriesById(db.knex)).toEqual(before);
    const report = await statusReport(db.knex);
    expect(report.attention.map((a) => [a.delivery, a.state]).sort()).toEqual([[10, 'uncertain'], [12, 'dead'], [9, 'uncertain']].sort());
    expect((await listDeliveries(db.knex, { limit: 100 })).length).toBe(before.length);

    // Re-polling the same back-office rows stores nothing and queues nothing.
    const connectorEvents = fixture.events!.filter((e) => e.type !== 'broadcast');
    const byInstance = new Map<string, Row[]>();
    for (const e of connectorEvents) byInstance.set(String(e.instance_id), [...byInstance.get(String(e.instance_id)) ?? [], e]);
    for (const [instanceId, events] of byInstance) {
      const r = await commitBatch(db.knex, { instanceId, events: events.map(again), cancellations: [], rowErrors: [], now: Date.now() });
      expect({ instanceId, inserted: r.inserted, duplicates: r.duplicates }).toEqual({ instanceId, inserted: 0, duplicates: events.length });
    }
    // The broadcast's key held the number; migration 008 renamed it by pseudonym, and creating the
    // same broadcast again (a crash, a repeated command) still finds its recipient already there.
    const b = fixture.broadcasts![0]!;
    const service = loadCitizenService('config/citizen-service.yaml').service;
    const settings = citizenServiceSchema.parse({});
    const templates = whatsappSchema.shape.templates.parse({ [String(b.template)]: { category: String(b.category), params: 1 } });
    const repeat = await createBroadcast({ key: String(b.key), topic: String(b.topic), template: String(b.template), params: JSON.parse(String(b.params)) as string[], source: 'test', urgent: true },
      { knex: db.knex, service, settings, templates, phoneNumberId: '106540352242922' });
    expect({ created: repeat.created, alreadyThere: repeat.alreadyThere }).toEqual({ created: 0, alreadyThere: 1 });
    expect((await db.knex('events').pluck('dedup_key')).join(' ')).not.toMatch(/\+39/);
    expect(await db.knex('events').count({ n: '*' }).first()).toEqual({ n: fixture.events!.length });

    // Uncertain sends stay held: no claim takes them, even far in the future; a send the old
    // release left in flight becomes uncertain too, never pending.
    await db.knex('deliveries').where({ id: 13 }).update({ state: 'sending', lease_token: 'old-process', lease_until: 1 });
    expect(await recoverStaleSends(db.knex, Date.now())).toBe(1);
    const claimed = await claimDeliveries(store, { limit: 100, now: Date.now() + 400 * 86_400_000, leaseMs: 60_000 });
    const claimedIds = claimed.items.map((i) => Number(i.delivery.id));
    expect(claimedIds).not.toContain(9);
    expect(claimedIds).not.toContain(10);
    expect(claimedIds).not.toContain(13);
    expect(claimedIds.every((id) => ['pending'].includes(before.find((d) => d.id === id)!.state))).toBe(true);

    // Consents recorded by the old release still gate WhatsApp.
    expect(await isOptedIn(db.knex, '+393470001111')).toBe(false);
    expect(await isOptedIn(db.knex, '+393477654321')).toBe(true);
    expect(await isOptedIn(db.knex, '+393330000202')).toBe(true);

    // The incremental connector's cursor reads as it was written.
    const oldCursor = fixture.connector_state!.find((c) => c.instance_id === 'pratiche')!.cursor;
    expect(await readCursor(db.knex, 'pratiche')).toEqual(JSON.parse(String(oldCursor)));
  });
});
