// A big batch (a backfill page, a broadcast chunk) commits on every store: multi-row inserts are
// sized to each database's limits (SQLite's 500-term compound SELECT, SQL Server's 2100 parameters).
import { afterEach, describe, expect, it } from 'vitest';
import { availableDialects } from '../helpers/databases.js';
import { testStore, type TestStore } from '../helpers/store.js';
import { commitBatch, type NewEvent } from '../../src/store/commit-batch.js';

const { run } = await availableDialects(['sqlite', 'postgres']);
let store: TestStore | undefined;
afterEach(async () => { await store?.close(); });

describe.each(run)('commitBatch of 2,000 events on %s', (dialect) => {
  it('stores every event and delivery once, and the duplicates on a second commit', async () => {
    store = await testStore(dialect);
    const events: NewEvent[] = Array.from({ length: 2000 }, (_, i) => ({
      key: `k${i}`, type: 't', fiscalCode: 'RSSMRA80A01H501U', data: { i, quote: "l'anagrafe \\ {} \"q\" \u0000 è 😀\n" },
      route: { mode: 'first', steps: [{ channel: 'appio', options: {} }] },
      deliveries: [{ channel: 'appio', options: {}, routeIndex: 0, address: null }],
    }));
    const first = await commitBatch(store.knex, { instanceId: 'big', events, cancellations: [], rowErrors: [], now: Date.now() });
    expect(first).toMatchObject({ inserted: 2000, duplicates: 0 });
    const again = await commitBatch(store.knex, { instanceId: 'big', events, cancellations: [], rowErrors: [], now: Date.now() });
    expect(again).toMatchObject({ inserted: 0, duplicates: 2000 });
    expect(Number((await store.knex('deliveries').count({ n: '*' }).first())?.n)).toBe(2000);
    const e = await store.knex('events').where({ dedup_key: 'k1999' }).first('payload');
    expect(JSON.parse(e.payload)).toEqual({ i: 1999, quote: "l'anagrafe \\ {} \"q\" \u0000 è 😀\n" });
    // Every event has its delivery (PostgreSQL writes both in one statement, joined by dedup key).
    const orphans = await store.knex('events').leftJoin('deliveries', 'deliveries.event_id', 'events.id').whereNull('deliveries.id').count({ n: '*' }).first();
    expect(Number(orphans?.n)).toBe(0);
  });

  it('stores a key given twice in one batch once, with the first one\'s delivery', async () => {
    store = await testStore(dialect);
    const twice = (channel: string): NewEvent => ({
      key: 'same', type: 't', fiscalCode: 'RSSMRA80A01H501U', data: { channel },
      route: { mode: 'first', steps: [{ channel, options: {} }] },
      deliveries: [{ channel, options: {}, routeIndex: 0, address: null }],
    });
    const r = await commitBatch(store.knex, { instanceId: 'dup', events: [twice('appio'), twice('appio')], cancellations: [], rowErrors: [], now: Date.now() });
    expect(r).toMatchObject({ inserted: 1, duplicates: 1 });
    expect(await store.knex('deliveries').select('channel')).toEqual([{ channel: 'appio' }]);
  });
});
