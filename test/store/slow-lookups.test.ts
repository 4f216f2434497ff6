// `ponte deliveries --fiscal-code/--phone` scans the ledger (no index on purpose): on a large store
// it may take longer than store.queryTimeoutSeconds, which is a bound for frozen connections, not
// for an operator's lookup. Here the scan is made slow by a lock held on the events table.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { availableDialects } from '../helpers/databases.js';
import { testStore, type TestStore } from '../helpers/store.js';
import { whileTableLocked } from '../helpers/table-lock.js';
import { openStore, type Store } from '../../src/store/db.js';
import { listDeliveries } from '../../src/store/operator.js';
import { QueryTimeoutError } from '../../src/store/query-timeout.js';

const { run, skipped } = await availableDialects(['postgres']);
if (skipped.length) console.warn(`[slow-lookups] skipped: ${skipped.join('; ')}`);

const MARIO = 'RSSMRA80A01H501U';

describe.runIf(run.includes('postgres'))('a slow lookup on a PostgreSQL store with a query bound', () => {
  let store: TestStore;
  let bounded: Store;
  beforeEach(async () => {
    store = await testStore('postgres');
    const now = Date.now();
    await store.knex('events').insert({ id: 1, dedup_key: 'tari:1', instance_id: 'tari', type: 'tari.due', fiscal_code: MARIO, phone: '+393471234567', payload: '{}', created_at: now });
    await store.knex('deliveries').insert({ id: 1, event_id: 1, channel: 'appio', state: 'processed', attempts: 1, polls: 0, next_attempt_at: now, route_index: 0, created_at: now, updated_at: now });
    bounded = openStore({ client: 'pg', url: store.scratch.url, queryTimeoutSeconds: 0.5 });
  });
  afterEach(async () => {
    await bounded.close();
    await store.close();
  });

  /** Runs `work` while another session holds the events table for 1.5 s (past the 0.5 s bound). */
  const whileLocked = <T>(work: () => Promise<T>) => whileTableLocked(store.knex, 'events', 1_500, work);

  it('by fiscal code or number waits for its answer, where other store queries keep their bound', async () => {
    // The lock does make a query outlast the bound.
    await expect(whileLocked(() => listDeliveries(bounded.knex, { connector: 'tari' }))).rejects.toBeInstanceOf(QueryTimeoutError);
    expect((await whileLocked(() => listDeliveries(bounded.knex, { fiscalCode: MARIO }))).map((r) => Number(r.id))).toEqual([1]);
    expect((await whileLocked(() => listDeliveries(bounded.knex, { phone: '+393471234567' }))).map((r) => Number(r.id))).toEqual([1]);
  });
});
