// The claim runs on PostgreSQL as a named prepared statement, which the server plans generically
// after a few runs: that generic plan must still read the due rows from the (state,
// next_attempt_at) index and update them by primary key, never scan the ledger, whose finished
// rows grow without end. And the claim must still hand each row to one claimer only.
import { afterEach, describe, expect, it } from 'vitest';
import { availableDialects } from '../helpers/databases.js';
import { testStore, type TestStore } from '../helpers/store.js';
import { claimDeliveries, pgClaimSql } from '../../src/store/claim-deliveries.js';

const { run, skipped } = await availableDialects(['postgres']);
if (skipped.length) console.warn(`[claim-plan] skipped: ${skipped.join('; ')}`);

let store: TestStore | undefined;
afterEach(async () => { await store?.close(); });

const NOW = 1_800_000_000_000;

/** `finished` processed deliveries (the ledger) and `due` pending ones, with planner statistics. */
async function ledger(s: TestStore, finished: number, due: number): Promise<void> {
  const n = finished + due;
  await s.knex.raw(`insert into events (dedup_key, instance_id, type, fiscal_code, payload, created_at)
    select 'k' || i, 'plan', 't', 'RSSMRA80A01H501U', '{}', ? from generate_series(1, ?) as i`, [NOW, n]);
  await s.knex.raw(`insert into deliveries (event_id, channel, options, state, next_attempt_at, created_at, updated_at, route_index)
    select id, 'appio', '{}', case when id <= ? then 'processed' else 'pending' end, ? + id, ?, ?, 0 from events`, [finished, NOW - n - 10, NOW, NOW]);
  await s.knex.raw('analyze events, deliveries');
}

describe.each(run)('the claim on %s', (dialect) => {
  it('keeps, as a generic prepared plan, an index range of due rows updated by primary key', async () => {
    store = await testStore(dialect);
    await ledger(store, 50_000, 300);
    for (const [takeover, byChannel] of [[false, true], [true, true], [false, false]] as const) {
      let n = 0;
      const text = pgClaimSql(takeover, byChannel).replace(/\?/g, () => `$${++n}`);
      const args = ['\'t\'', String(NOW + 60_000), '\'pending\'', String(NOW), String(NOW), ...(byChannel ? ['array[\'appio\']'] : []), '200'];
      const plan = await store.knex.transaction(async (trx) => {
        await trx.raw('set local plan_cache_mode = force_generic_plan');
        await trx.raw(`prepare claim_plan as ${text}`);
        const rows = ((await trx.raw(`explain execute claim_plan(${args.join(', ')})`)) as { rows: Array<{ 'QUERY PLAN': string }> }).rows;
        await trx.raw('deallocate claim_plan');
        return rows.map((r) => r['QUERY PLAN']).join('\n');
      });
      expect(plan).toMatch(/Index Scan using deliveries_state_next_attempt_at_index/);
      expect(plan).toMatch(/Index Scan using deliveries_pkey/);
      expect(plan).toMatch(/LockRows/);
      expect(plan).not.toMatch(/Seq Scan/);
    }
  });

  it('hands each due row to one of two concurrent claimers, oldest due first, and none that is finished', async () => {
    store = await testStore(dialect);
    await ledger(store, 1_000, 300);
    const opts = { limit: 200, leaseMs: 60_000, now: NOW, channels: ['appio'] };
    const [a, b] = await Promise.all([claimDeliveries(store, opts), claimDeliveries(store, opts)]);
    const ids = [...a.items, ...b.items].map((i) => i.delivery.id);
    expect(ids).toHaveLength(300);
    expect(new Set(ids).size).toBe(300);
    for (const c of [a, b]) {
      const due = c.items.map((i) => i.delivery.next_attempt_at);
      expect(due).toEqual([...due].sort((x, y) => x - y));
      expect(c.items.every((i) => i.delivery.state === 'pending' && i.delivery.lease_token === c.token && i.event.id === i.delivery.event_id)).toBe(true);
    }
    expect((await claimDeliveries(store, opts)).items).toHaveLength(0);
  });
});
