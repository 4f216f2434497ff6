// Three processes starting together on an empty PostgreSQL store all migrate it: one applies the
// migrations, the others wait for it and find nothing left to do (no race in knex's lock table).
import { describe, expect, it } from 'vitest';
import { availableDialects, scratchDb } from '../helpers/databases.js';
import { migrateLatest, storeFromKnex, migrationsCurrent } from '../../src/store/db.js';
import knexFactory from 'knex';
import { migrationSource } from '../../migrations/index.js';

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
});
