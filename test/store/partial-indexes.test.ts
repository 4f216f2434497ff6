// Deliveries' provider-id and address indexes cover only rows that have one (migration 005), so
// a backfill's inserts skip them; the lookups that need them (a WhatsApp status by wamid, a
// citizen's pending sends by phone) must still be able to use them on every store.
import { afterEach, describe, expect, it } from 'vitest';
import { availableDialects } from '../helpers/databases.js';
import { testStore, type TestStore } from '../helpers/store.js';
import { planOf } from '../helpers/plan.js';
import { commitBatch, type NewEvent } from '../../src/store/commit-batch.js';
import { attentionQuery, fallbackQuery } from '../../src/store/status.js';

const { run, skipped } = await availableDialects(['sqlite', 'postgres']);
if (skipped.length) console.warn(`[partial-indexes] skipped: ${skipped.join('; ')}`);

let store: TestStore | undefined;
afterEach(async () => { await store?.close(); });

const ev = (i: number, channel: string, address: string | null): NewEvent => ({
  key: `k${i}`, type: 't', fiscalCode: 'RSSMRA80A01H501U', data: {},
  route: { mode: 'first', steps: [{ channel, options: {} }] },
  deliveries: [{ channel, options: {}, routeIndex: 0, address }],
});

/** The plan of `select id from deliveries <index> where …`; SQLite's INDEXED BY fails unless the index can serve it. */
async function plan(s: TestStore, index: string, where: string, bindings: unknown[]): Promise<string> {
  if (s.scratch.dialect === 'sqlite') {
    return JSON.stringify(await s.knex.raw(`explain query plan select id from deliveries indexed by ${index} where ${where}`, bindings as never));
  }
  const sql = `select id from deliveries where ${where}`;
  return s.knex.transaction(async (trx) => {
    await trx.raw('set local enable_seqscan = off'); // tiny table: show what the planner CAN use
    return JSON.stringify(((await trx.raw(`explain ${sql}`, bindings as never)) as { rows: unknown[] }).rows);
  });
}

describe.each(run)('partial delivery indexes on %s', (dialect) => {
  it('index only the rows with a provider id or an address, and serve the lookups by value', async () => {
    store = await testStore(dialect);
    const events = Array.from({ length: 300 }, (_, i) => (i % 100 === 0 ? ev(i, 'whatsapp', `+3934700000${i}`) : ev(i, 'appio', null)));
    await commitBatch(store.knex, { instanceId: 'i', events, cancellations: [], rowErrors: [], now: Date.now() });
    expect(await store.knex('deliveries').where({ address: '+39347000000' }).update({ provider_id: 'wamid.A', state: 'accepted' })).toBe(1);
    if (dialect === 'postgres') await store.knex.raw('analyze deliveries');

    const byWamid = await plan(store, 'deliveries_provider_id_index', "provider_id = ? and channel = 'whatsapp' and state = 'accepted'", ['wamid.A']);
    expect(byWamid).toContain('deliveries_provider_id_index');
    const byPhone = await plan(store, 'deliveries_channel_address_index', "channel = 'whatsapp' and address = ? and state = 'pending'", ['+3934700000100']);
    expect(byPhone).toContain('deliveries_channel_address_index');

    if (dialect === 'postgres') {
      // The point of it: 300 deliveries, 3 with an address, 1 with a provider id.
      const entries = (await store.knex.raw(
        // This test's schema only: a scratch schema left by an interrupted run has indexes of the same names.
        "select c.relname, c.reltuples from pg_class c where c.relnamespace = current_schema()::regnamespace and c.relname in ('deliveries_provider_id_index', 'deliveries_channel_address_index') order by 1",
      )) as { rows: { relname: string; reltuples: number }[] };
      expect(entries.rows.map((r) => [r.relname, Number(r.reltuples)])).toEqual([['deliveries_channel_address_index', 3], ['deliveries_provider_id_index', 1]]);
    }
  });

  it("serve `ponte status`'s lists from the rows they are about, not a scan of the ledger", async () => {
    store = await testStore(dialect);
    const now = Date.now();
    const events = Array.from({ length: 5000 }, (_, i) => ev(i, 'appio', null));
    await commitBatch(store.knex, { instanceId: 'i', events, cancellations: [], rowErrors: [], now });
    // Years of finished work, a few deliveries gone bad (the newest last), a few fallbacks.
    await store.knex('deliveries').update({ state: 'processed', updated_at: store.knex.raw('id') });
    const bad = ['dead', 'failed', 'uncertain'] as const;
    for (let i = 0; i < 60; i++) await store.knex('deliveries').where({ id: 100 + i * 50 }).update({ state: bad[i % 3], updated_at: now + i });
    await store.knex('deliveries').whereIn('id', [7, 4007]).update({ route_index: 1 });
    await store.knex.raw(dialect === 'postgres' ? 'analyze deliveries' : 'analyze');

    const latest = (await attentionQuery(store.knex, 5)) as { id: number; state: string }[];
    expect(latest.map((r) => [Number(r.id), r.state])).toEqual([59, 58, 57, 56, 55].map((i) => [100 + i * 50, bad[i % 3]]));
    expect(((await fallbackQuery(store.knex)) as { id: number }[]).map((r) => Number(r.id))).toEqual([4007, 7]);

    // PostgreSQL reads the newest rows of the partial index and stops at the limit. SQLite's planner
    // prefers the (state, next_attempt_at) index for the IN list: it reads only the rows in those
    // states and sorts them, which is not a scan of the ledger either.
    const attention = await planOf(store, attentionQuery(store.knex).toString());
    if (dialect === 'postgres') expect(attention).toContain('deliveries_attention_index');
    else expect(attention).toMatch(/SEARCH d USING INDEX deliveries_\w+ \(state=\?\)/);
    expect(attention).not.toMatch(/SCAN d\b|Seq Scan on deliveries/);
    expect(await planOf(store, fallbackQuery(store.knex).toString())).toContain('deliveries_fallback_index');
    if (dialect === 'postgres') {
      const entries = (await store.knex.raw(
        "select c.relname, c.reltuples from pg_class c where c.relnamespace = current_schema()::regnamespace and c.relname in ('deliveries_attention_index', 'deliveries_fallback_index') order by 1",
      )) as { rows: { relname: string; reltuples: number }[] };
      expect(entries.rows.map((r) => [r.relname, Number(r.reltuples)])).toEqual([['deliveries_attention_index', 60], ['deliveries_fallback_index', 2]]);
    }
  });
});
