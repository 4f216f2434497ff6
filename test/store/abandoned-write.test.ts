// A write the query bound abandoned (its caller told "the store did not answer") must not commit
// later: here it waits on a lock another session holds past the bound, and once the lock is free
// the row is as it was. PostgreSQL otherwise ran the statement when the lock came free.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { availableDialects } from '../helpers/databases.js';
import { testStore, type TestStore } from '../helpers/store.js';
import { whileTableLocked } from '../helpers/table-lock.js';
import { openStore, type Store } from '../../src/store/db.js';
import { QueryTimeoutError } from '../../src/store/query-timeout.js';

const { run, skipped } = await availableDialects(['postgres']);
if (skipped.length) console.warn(`[abandoned-write] skipped: ${skipped.join('; ')}`);

describe.runIf(run.includes('postgres'))('a write abandoned by the store query bound', () => {
  let store: TestStore;
  let bounded: Store;
  beforeEach(async () => {
    store = await testStore('postgres');
    await store.knex('store_meta').insert({ name: 'h', value: 'before' });
    bounded = openStore({ client: 'pg', url: store.scratch.url, queryTimeoutSeconds: 0.5 });
  });
  afterEach(async () => {
    await bounded.close();
    await store.close();
  });

  it('does not happen once the lock it waited on is free', async () => {
    const version = Number(((await store.knex.raw('show server_version_num')) as { rows: Array<{ server_version_num: string }> }).rows[0]!.server_version_num);
    if (version < 140000) return; // PostgreSQL 12 and 13 have no client_connection_check_interval
    await bounded.knex.raw('select 1'); // a connection ready, so the write waits on the lock only
    await whileTableLocked(store.knex, 'store_meta', 2_500, () =>
      expect(bounded.knex('store_meta').where({ name: 'h' }).update({ value: 'after' })).rejects.toBeInstanceOf(QueryTimeoutError));
    await new Promise((r) => setTimeout(r, 300));
    expect(await store.knex('store_meta').where({ name: 'h' }).first('value')).toEqual({ value: 'before' });
  });
});
