import { describe, expect, it } from 'vitest';
import { availableDialects, scratchDb } from './databases.js';

const { run, skipped } = await availableDialects();
if (skipped.length) console.warn(`[databases] skipped: ${skipped.join('; ')}`);

describe.each(run)('scratch database on %s', (dialect) => {
  it('is empty and isolated', async () => {
    const a = await scratchDb(dialect);
    const b = await scratchDb(dialect);
    try {
      await a.knex.schema.createTable('probe', (t) => { t.integer('n'); });
      await a.knex('probe').insert({ n: 7 });
      expect(await a.knex('probe').select('n')).toEqual([{ n: 7 }]);
      expect(await b.knex.schema.hasTable('probe')).toBe(false);
    } finally {
      await a.destroy();
      await b.destroy();
    }
  });
});
