// `ponte migrate`: applies pending store migrations (other commands also do it on start). It says
// which store and what it will do before it starts, since a migration may take minutes.
import type { GlobalOptions } from './common.js';
import { configFile, loadConfig } from '../config/load.js';
import { storeConfigFrom } from '../app/context.js';
import { connectStore, openStore, migrateLatest, pendingMigrations } from '../store/db.js';
import { describePlan, migrationPlan } from '../store/migration-plan.js';

export async function migrateCommand(opts: GlobalOptions): Promise<number> {
  const config = loadConfig(configFile(opts.config));
  const store = openStore(storeConfigFrom(config, process.env));
  const say = (line: string) => process.stdout.write(`${line}\n`);
  try {
    await connectStore(store);
    say(`Store: ${store.where ?? store.dialect}`);
    const pending = await pendingMigrations(store);
    if (pending.length === 0) {
      say('Already up to date: nothing to apply.');
      return 0;
    }
    for (const line of describePlan(await migrationPlan(store, pending))) say(line);
    const started = Date.now();
    const applied = await migrateLatest(store);
    // Another process may have applied some meanwhile (PostgreSQL: they take turns).
    say(applied.length ? `Applied ${applied.length} migration(s) in ${((Date.now() - started) / 1000).toFixed(1)} s: ${applied.join(', ')}` : 'Another process applied them meanwhile: nothing left to do.');
    return 0;
  } finally {
    await store.close();
  }
}
