// `ponte migrate`: applies pending store migrations (other commands also do it on start).
import type { GlobalOptions } from './common.js';
import { cliLogger } from './common.js';
import { configFile, loadConfig } from '../config/load.js';
import { storeConfigFrom } from '../app/context.js';
import { openStore, migrateLatest } from '../store/db.js';

export async function migrateCommand(opts: GlobalOptions): Promise<number> {
  const log = cliLogger(opts);
  const config = loadConfig(configFile(opts.config));
  const store = openStore(storeConfigFrom(config, process.env));
  try {
    const applied = await migrateLatest(store);
    log.info({ applied, store: store.dialect }, applied.length ? 'migrations applied' : 'store already up to date');
    return 0;
  } finally {
    await store.close();
  }
}
