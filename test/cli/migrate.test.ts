// `ponte migrate` on a store an older release left: it names the store and what it is about to do
// (the migrations, and how many broadcast keys the slow one rewrites) before doing it, since a
// large store takes minutes and a silent command looks hung; `status` says the same on stderr.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import knexFactory from 'knex';
import { describe, expect, it } from 'vitest';
import { ponte, scratchWorkdir } from '../helpers/cli.js';
import { migrationSource } from '../../migrations/index.js';

const OLD = ['20261124_001_core', '20261124_002_channels_consent', '20261124_003_processes', '20261124_004_citizen_service'];

/** data/ponte.sqlite in `cwd` as the release at migration 004 left it, with two broadcast recipients. */
async function oldStore(cwd: string): Promise<void> {
  mkdirSync(join(cwd, 'data'), { recursive: true });
  const knex = knexFactory({ client: 'better-sqlite3', connection: { filename: join(cwd, 'data/ponte.sqlite') }, useNullAsDefault: true });
  try {
    await knex.migrate.latest({ migrationSource: { ...migrationSource, getMigrations: async () => OLD } });
    await knex('events').insert(['+393471000001', '+393471000002'].map((phone) =>
      ({ dedup_key: `allerta-1:${phone}`, instance_id: 'broadcast:meteo', type: 'broadcast', fiscal_code: '', phone, created_at: 1 })));
  } finally {
    await knex.destroy();
  }
}

describe('ponte migrate', () => {
  it('says which store and what it will do, then what it did; a second run has nothing to do', async () => {
    const cwd = scratchWorkdir();
    await oldStore(cwd);
    const env = { DATABASE_URL: '' };
    const r = await ponte(['migrate'], { cwd, env });
    expect(r.code).toBe(0);
    const pending = (await migrationSource.getMigrations([])).filter((m) => !OLD.includes(m));
    expect(r.stdout.split('\n').slice(0, 3)).toEqual([
      'Store: SQLite file data/ponte.sqlite (store.filename; $DATABASE_URL not set)',
      `${pending.length} migration(s) to apply, in one transaction (an interruption leaves the store as it was): ${pending.join(', ')}`,
      '20261205_008_recipient_pseudonyms rewrites 2 broadcast dedup key(s): up to about 1 min on PostgreSQL (less on SQLite); other Ponte processes on this store wait until it is done',
    ]);
    expect(r.stdout).toMatch(new RegExp(`^Applied ${pending.length} migration\\(s\\) in [\\d.]+ s: ${pending.join(', ')}$`, 'm'));
    const again = await ponte(['migrate'], { cwd, env });
    expect(again.stdout).toContain('Already up to date: nothing to apply.');
  }, 60_000);

  it('status on an older store says on stderr that it migrates first, and keeps stdout for the report', async () => {
    const cwd = scratchWorkdir();
    await oldStore(cwd);
    const r = await ponte(['status', '--json'], { cwd, env: { DATABASE_URL: '' } });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('ponte: migrating the store first: 20261205_008_recipient_pseudonyms rewrites 2 broadcast dedup key(s)');
    expect(JSON.parse(r.stdout)).toMatchObject({ store: expect.stringContaining('SQLite file') });
  }, 60_000);

  it('creates a new store, saying so', async () => {
    const cwd = scratchWorkdir();
    const r = await ponte(['migrate'], { cwd, env: { DATABASE_URL: '' } });
    expect(r.code).toBe(0);
    const all = await migrationSource.getMigrations([]);
    expect(r.stdout).toContain(`${all.length} migration(s) to apply`);
    expect(r.stdout).not.toContain('broadcast dedup key');
  }, 60_000);
});
