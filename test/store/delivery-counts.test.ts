// The age of the oldest due delivery is read at every /metrics scrape and by `ponte status`: it
// must come from the (state, next_attempt_at) index, whatever the ledger weighs.
import { afterEach, describe, expect, it } from 'vitest';
import { availableDialects } from '../helpers/databases.js';
import { testStore, type TestStore } from '../helpers/store.js';
import { planOf } from '../helpers/plan.js';
import { commitBatch, type NewEvent } from '../../src/store/commit-batch.js';
import { oldestDueAt } from '../../src/store/delivery-counts.js';

const { run, skipped } = await availableDialects(['sqlite', 'postgres']);
if (skipped.length) console.warn(`[delivery-counts] skipped: ${skipped.join('; ')}`);

let store: TestStore | undefined;
afterEach(async () => { await store?.close(); });

const ev = (i: number): NewEvent => ({
  key: `k${i}`, type: 't', fiscalCode: 'RSSMRA80A01H501U', data: {},
  route: { mode: 'first', steps: [{ channel: 'appio', options: {} }] },
  deliveries: [{ channel: 'appio', options: {}, routeIndex: 0, address: null }],
});

describe.each(run)('oldest due delivery on %s', (dialect) => {
  it('is the earliest due pending or accepted delivery, read from the index', async () => {
    store = await testStore(dialect);
    const now = Date.now();
    await commitBatch(store.knex, { instanceId: 'i', events: Array.from({ length: 5000 }, (_, i) => ev(i)), cancellations: [], rowErrors: [], now });
    // A ledger of finished work, reminders due next month, and three deliveries due now.
    await store.knex('deliveries').update({ state: 'processed', next_attempt_at: now - 86_400_000 });
    await store.knex('deliveries').where('id', '<=', 2500).update({ state: 'pending', next_attempt_at: now + 30 * 86_400_000 });
    expect(await oldestDueAt(store.knex, now)).toBeNull();
    await store.knex('deliveries').where({ id: 10 }).update({ next_attempt_at: now - 5000 });
    await store.knex('deliveries').where({ id: 4000 }).update({ state: 'accepted', next_attempt_at: now - 9000 });
    await store.knex('deliveries').where({ id: 4001 }).update({ state: 'dead', next_attempt_at: now - 99_000 });
    await store.knex.raw(dialect === 'postgres' ? 'analyze deliveries' : 'analyze');
    expect(await oldestDueAt(store.knex, now)).toBe(now - 9000);
    await store.knex('deliveries').where({ id: 4000 }).update({ state: 'processed' });
    expect(await oldestDueAt(store.knex, now)).toBe(now - 5000);

    // Every statement it makes reads the index, not the table.
    const statements: Array<{ sql: string; bindings: unknown[] }> = [];
    const onQuery = (q: { sql: string; bindings: unknown[] }) => { statements.push(q); };
    store.knex.on('query', onQuery);
    await oldestDueAt(store.knex, now);
    store.knex.off('query', onQuery);
    expect(statements).toHaveLength(2); // one per state
    for (const { sql, bindings } of statements) {
      const plan = await planOf(store, sql, bindings);
      // The first entry of an index range: not a scan of the table, nor of every due row (a bitmap
      // scan, which PostgreSQL turns into a scan of the whole ledger once it expects many).
      expect(plan).toMatch(/(SEARCH deliveries USING COVERING INDEX|Index Only Scan using) deliveries_state_next_attempt_at_index/);
      expect(plan).not.toMatch(/SCAN deliveries\b|Seq Scan|Bitmap|TEMP B-TREE/);
    }
  });
});
