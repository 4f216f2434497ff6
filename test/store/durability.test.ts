// The durability check on a real PostgreSQL: silent on a server that keeps its commits, one named
// warning when the role's sessions skip waiting for them (ALTER ROLE … SET is how admins do it;
// here the session setting stands in for it), and `ponte run` logging that warning at start.
import { afterEach, describe, expect, it } from 'vitest';
import knexFactory, { type Knex } from 'knex';
import { availableDialects, PG_URL } from '../helpers/databases.js';
import { storeFromKnex } from '../../src/store/db.js';
import { durabilityWarnings, postgresDurabilityRisks } from '../../src/store/durability.js';
import { stopWorld, type StopWorld } from '../torture/stop-world.js';
import { STORE_URL_ENV } from '../torture/setup.js';

const { run, skipped } = await availableDialects(['postgres']);
if (skipped.length) console.warn(`[durability] skipped: ${skipped.join('; ')}`);

describe('durability warnings from the server\'s settings', () => {
  it('names fsync = off, alone or with synchronous_commit = off; nothing for on, local or remote_apply', () => {
    const risk = 'a crash of the database server can lose the last commits, and a send recorded in them may go out twice';
    expect(postgresDurabilityRisks({ fsync: 'off', synchronousCommit: 'on' })).toEqual([`PostgreSQL has fsync = off: ${risk} (or the database be corrupted)`]);
    expect(postgresDurabilityRisks({ fsync: 'off', synchronousCommit: 'off' })).toEqual([
      `PostgreSQL has fsync = off: ${risk} (or the database be corrupted)`,
      `PostgreSQL has synchronous_commit = off: ${risk}`,
    ]);
    for (const synchronousCommit of ['on', 'local', 'remote_write', 'remote_apply']) expect(postgresDurabilityRisks({ fsync: 'on', synchronousCommit })).toEqual([]);
  });
});

describe.skipIf(run.length === 0)('durability warnings on postgres', () => {
  let knex: Knex | undefined;
  afterEach(async () => { await knex?.destroy(); knex = undefined; });

  const open = (sessionSql?: string) => knexFactory({
    client: 'pg', connection: PG_URL,
    pool: { min: 0, max: 1, ...(sessionSql ? { afterCreate: (c: { query(s: string, cb: (e: Error | null) => void): void }, done: (e: Error | null, c: unknown) => void) => c.query(sessionSql, (e) => done(e, c)) } : {}) },
  });

  it('says nothing when commits are durable', async () => {
    knex = open();
    expect(await durabilityWarnings(storeFromKnex(knex))).toEqual([]);
  });

  it('names synchronous_commit = off and what it risks', async () => {
    knex = open('set synchronous_commit = off');
    expect(await durabilityWarnings(storeFromKnex(knex))).toEqual([
      'PostgreSQL has synchronous_commit = off: a crash of the database server can lose the last commits, and a send recorded in them may go out twice',
    ]);
  });

  it('`ponte run` logs it at start', async () => {
    let world: StopWorld | undefined;
    try {
      world = await stopWorld('postgres', { rows: 1, latencyMs: 0, concurrency: 1 });
      // The setting on every connection of the store, as an ALTER ROLE … SET would put it.
      const p = world.start([], { [STORE_URL_ENV]: `${world.storeUrl!}%20-c%20synchronous_commit%3Doff` });
      expect(await p.waitFor(/^PostgreSQL has synchronous_commit = off: /, 30_000), p.tail()).toBe(true);
    } finally {
      await world?.close();
    }
  }, 60_000);
});
