// Three processes starting together on an empty PostgreSQL store all migrate it: one applies the
// migrations, the others wait for it and find nothing left to do (no race in knex's lock table).
import { describe, expect, it } from 'vitest';
import { availableDialects, scratchDb } from '../helpers/databases.js';
import { migrateLatest, storeFromKnex, migrationsCurrent, pendingMigrations } from '../../src/store/db.js';
import knexFactory from 'knex';
import { migrationSource } from '../../migrations/index.js';
import { Writable } from 'node:stream';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { createLogger } from '../../src/log/logger.js';
import { createApp } from '../../src/app/context.js';
import { IO_KEY_ENV, makeWorkdir, STORE_URL_ENV } from '../torture/setup.js';

const { run, skipped } = await availableDialects(['postgres']);
if (skipped.length) console.warn(`[migrate] skipped: ${skipped.join('; ')}`);

describe.skipIf(run.length === 0)('concurrent migrations on PostgreSQL', () => {
  it('three stores migrating an empty schema at once all succeed, and it is applied once', async () => {
    const db = await scratchDb('postgres');
    const stores = [1, 2, 3].map(() => storeFromKnex(knexFactory(db.config)));
    try {
      const applied = await Promise.all(stores.map((s) => migrateLatest(s)));
      const all = (await migrationSource.getMigrations([])).length;
      expect(all).toBeGreaterThan(0);
      expect(applied.map((a) => a.length).sort()).toEqual([0, 0, all]);
      expect(await migrationsCurrent(stores[0]!)).toBe(true);
    } finally {
      for (const s of stores) await s.knex.destroy();
      await db.destroy();
    }
  });

  it('reading what is pending writes nothing (knex\'s list inserted a lock row outside the lock), and a store left with two lock rows by that race still migrates', async () => {
    const db = await scratchDb('postgres');
    const store = storeFromKnex(knexFactory(db.config));
    try {
      const all = await migrationSource.getMigrations([]);
      // A store caught half-way by another process: knex's tables being created, no lock row yet.
      await store.knex.schema.createTable('knex_migrations', (t) => { t.increments(); t.string('name'); t.integer('batch'); t.timestamp('migration_time'); });
      await store.knex.schema.createTable('knex_migrations_lock', (t) => { t.increments('index'); t.integer('is_locked'); });
      expect(await pendingMigrations(store)).toEqual(all);
      expect(await migrationsCurrent(store)).toBe(false);
      expect(Number((await store.knex('knex_migrations_lock').count({ n: '*' }).first())!.n)).toBe(0);
      // What the race left: two unlocked rows, so knex's lock UPDATE touched two and refused.
      await store.knex('knex_migrations_lock').insert([{ is_locked: 0 }, { is_locked: 0 }]);
      expect(await migrateLatest(store)).toEqual(all);
      expect(await migrationsCurrent(store)).toBe(true);
      expect(await pendingMigrations(store)).toEqual([]);
    } finally {
      await store.knex.destroy();
      await db.destroy();
    }
  });

  it('five `ponte run` starting together (on an empty store, knex created its tables outside the lock and one failed): each announces the migration, then says whether it applied it or another process had', async () => {
    const db = await scratchDb('postgres');
    const w = makeWorkdir({ ioUrl: 'http://127.0.0.1:9', pageSize: 10, pollEverySeconds: 60, concurrency: 1, batchSize: 1 });
    // No connector: the workdir's own is found from its folder only, and the store is the point here.
    writeFileSync(w.configFile, stringify({ ...(parse(readFileSync(w.configFile, 'utf8')) as object), connectors: [] }));
    const N = 5;
    const lines: string[][] = Array.from({ length: N }, () => []);
    const logger = (i: number) => createLogger({ destination: new Writable({ write(c: Buffer, _e, done) { lines[i]!.push(...c.toString().split('\n').filter(Boolean)); done(); } }) });
    const env = { [STORE_URL_ENV]: db.url, [IO_KEY_ENV]: 'k' };
    try {
      const apps = await Promise.all(lines.map((_, i) => createApp({ configFile: w.configFile, log: logger(i), env, sandbox: false, sends: false })));
      for (const a of apps) await a.close();
      const msgs = lines.map((l) => l.map((x) => (JSON.parse(x) as { msg: string }).msg));
      const announced = msgs.filter((m) => m.some((x) => x.startsWith('migrating the store: '))).length;
      const applied = msgs.filter((m) => m.some((x) => /^migrated the store: applied \d+ migration\(s\)$/.test(x))).length;
      const other = msgs.filter((m) => m.includes('store migrated by another process meanwhile: nothing left to do here')).length;
      expect(applied, JSON.stringify(msgs)).toBe(1);
      // Each one that announced a migration says how it ended.
      expect(applied + other).toBe(announced);
    } finally {
      await db.destroy();
      rmSync(w.dir, { recursive: true, force: true });
    }
  });
});
