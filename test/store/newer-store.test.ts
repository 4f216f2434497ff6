// A store migrated by a newer Ponte (a rollback, or one process of several not yet upgraded) is
// refused with what happened and what to do, not knex's "migration directory is corrupt".
import { afterEach, describe, expect, it } from 'vitest';
import { availableDialects } from '../helpers/databases.js';
import { testStore, type TestStore } from '../helpers/store.js';
import { migrateLatest, migrationsCurrent } from '../../src/store/db.js';

const { run, skipped } = await availableDialects(['sqlite', 'postgres']);
if (skipped.length) console.warn(`[newer-store] skipped: ${skipped.join('; ')}`);

describe.each(run)('a store migrated by a newer Ponte, on %s', (dialect) => {
  let store: TestStore;
  afterEach(async () => { await store?.close(); });

  it('is refused by name, and this version migrates nothing', async () => {
    store = await testStore(dialect);
    await store.knex('knex_migrations').insert({ name: '20991231_009_future', batch: 99, migration_time: new Date() });
    const refusal = /^the store was migrated by a newer Ponte: this version does not know its migration\(s\) 20991231_009_future \(its latest is \d+_\d+_\w+\)\. Run the newer version/;
    await expect(migrateLatest(store)).rejects.toThrow(refusal);
    await expect(migrationsCurrent(store)).rejects.toThrow(refusal);
    expect(await store.knex('knex_migrations').max({ batch: 'batch' }).first()).toEqual({ batch: 99 });
  });
});
