// Named prepared statements on PostgreSQL (src/store/prepared.ts): the same results as knex.raw,
// and inside a transaction they run on the transaction's connection — the ingest commit with
// row errors relies on it for its atomicity.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { availableDialects } from '../helpers/databases.js';
import { testStore, type TestStore } from '../helpers/store.js';
import { pgRows, queryRows } from '../../src/store/prepared.js';

const { run, skipped } = await availableDialects(['sqlite', 'postgres']);
if (skipped.length) console.warn(`[prepared] skipped: ${skipped.join('; ')}`);

describe.each(run)('queryRows on %s', (dialect) => {
  let store: TestStore;
  beforeEach(async () => { store = await testStore(dialect); });
  afterEach(async () => { await store.close(); });

  it('returns the rows, with its ? placeholders bound in order, run after run', async () => {
    for (const [a, b] of [[1, 'x'], [2, 'y'], [3, 'z'], [4, 'w'], [5, 'v'], [6, 'u'], [7, 't']] as const) {
      expect(await queryRows(store, 'select ? + 1 as n, ? as s', [a, b])).toEqual([{ n: a + 1, s: b }]);
    }
  });
});

describe.runIf(run.includes('postgres'))('pgRows', () => {
  let store: TestStore;
  beforeEach(async () => { store = await testStore('postgres'); });
  afterEach(async () => { await store.close(); });

  it('inside a transaction, runs on its connection: uncommitted work is seen, and rolled back with it', async () => {
    await store.knex.raw('create table probe (n int)');
    const seen: unknown[] = [];
    const trx = await store.knex.transaction();
    await trx.raw('insert into probe values (1)');
    seen.push(await pgRows(trx, 'select count(*)::int as n from probe', []));
    // Another connection does not see it yet.
    seen.push(await pgRows(store.knex, 'select count(*)::int as n from probe', []));
    await pgRows(trx, 'insert into probe values (?)', [2]);
    await trx.rollback();
    expect(seen).toEqual([[{ n: 1 }], [{ n: 0 }]]);
    expect(await store.knex('probe').count({ n: '*' })).toEqual([{ n: 0 }]);
  });
});
