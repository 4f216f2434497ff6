// Commands that need only the store (status, deliveries, consent, channel): no connectors, no
// channels, no sandbox, and migrations applied so a fresh install works too.
import type { GlobalOptions } from './common.js';
import { configFile, loadConfig } from '../config/load.js';
import { storeConfigFrom } from '../app/context.js';
import type { PonteConfig } from '../config/schema.js';
import { connectStore, openStore, migrateLatest, pendingMigrations, type Store } from '../store/db.js';
import { describePlan, migrationPlan } from '../store/migration-plan.js';
import { useStoreRefKey } from '../store/store-meta.js';

/** Migrates, saying first what it will do (a migration may take minutes); on stderr, as stdout may be JSON for a script. */
export async function migrateSaying(store: Store): Promise<void> {
  const pending = await pendingMigrations(store);
  if (pending.length) for (const line of describePlan(await migrationPlan(store, pending))) process.stderr.write(`ponte: migrating the store first: ${line}\n`);
  await migrateLatest(store);
}

export async function withStore<T>(opts: GlobalOptions, fn: (s: Store, config: PonteConfig) => Promise<T>, migrate = true): Promise<T> {
  const config = loadConfig(configFile(opts.config));
  const store = openStore(storeConfigFrom(config, process.env));
  try {
    await connectStore(store);
    if (migrate) await migrateSaying(store);
    // Refs in this command's lines (tel#…, cf#…) match the daemon's (see src/log/ref-key.ts).
    await useStoreRefKey(store.knex);
    return await fn(store, config);
  } finally {
    await store.close();
  }
}
