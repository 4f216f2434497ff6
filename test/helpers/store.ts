// A migrated Ponte store on a scratch database of the given dialect.
import { migrateLatest, storeFromKnex, type Store } from '../../src/store/db.js';
import { scratchDb, type Dialect, type ScratchDb } from './databases.js';

export interface TestStore extends Store {
  scratch: ScratchDb;
}

export async function testStore(dialect: Dialect): Promise<TestStore> {
  const scratch = await scratchDb(dialect);
  const store = storeFromKnex(scratch.knex);
  await migrateLatest(store);
  return { ...store, scratch, close: () => scratch.destroy() };
}
