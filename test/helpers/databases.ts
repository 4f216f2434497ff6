// Real databases for integration suites. Each suite gets its own throw-away schema (PostgreSQL)
// or database (MariaDB), so suites never see each other's rows. A laptop without the servers
// still passes `npm test`: the suites are skipped with the reason; CI (CI=true) requires them.
import knexFactory, { type Knex } from 'knex';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type Dialect = 'sqlite' | 'postgres' | 'mariadb';

export const PG_URL = process.env.PONTE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const MARIADB_URL = process.env.PONTE_TEST_MARIADB_URL ?? 'mysql://root@127.0.0.1:3306/test';

const probes = new Map<Dialect, Promise<string | null>>();

/** null when reachable, otherwise why not. */
export function unavailable(dialect: Dialect): Promise<string | null> {
  if (dialect === 'sqlite') return Promise.resolve(null);
  let p = probes.get(dialect);
  if (!p) {
    p = (async () => {
      const k = knexFactory(dialect === 'postgres'
        ? { client: 'pg', connection: PG_URL, pool: { min: 0, max: 1 }, acquireConnectionTimeout: 3000 }
        : { client: 'mysql2', connection: MARIADB_URL, pool: { min: 0, max: 1 }, acquireConnectionTimeout: 3000 });
      try {
        await k.raw('select 1');
        return null;
      } catch (e) {
        return `${dialect} not reachable at ${dialect === 'postgres' ? PG_URL : MARIADB_URL}: ${(e as Error).message}`;
      } finally {
        await k.destroy();
      }
    })();
    probes.set(dialect, p);
  }
  return p;
}

/** Dialects to run a suite on: all three locally when reachable; CI demands PostgreSQL and MariaDB. */
export async function availableDialects(wanted: Dialect[] = ['sqlite', 'postgres', 'mariadb']): Promise<{ run: Dialect[]; skipped: string[] }> {
  const run: Dialect[] = [];
  const skipped: string[] = [];
  for (const d of wanted) {
    const why = await unavailable(d);
    if (why === null) run.push(d);
    else if (process.env.CI) throw new Error(`CI requires ${d}: ${why}`);
    else skipped.push(why);
  }
  return { run, skipped };
}

export interface ScratchDb {
  dialect: Dialect;
  knex: Knex;
  /** knex config that reaches the same scratch schema/database (for child processes). */
  config: Knex.Config;
  /** Connection URL for child processes (postgres/mariadb) or the SQLite filename. */
  url: string;
  destroy(): Promise<void>;
}

/** A fresh, empty schema (PG), database (MariaDB) or file (SQLite). */
export async function scratchDb(dialect: Dialect): Promise<ScratchDb> {
  const name = `ponte_t_${randomBytes(5).toString('hex')}`;
  if (dialect === 'sqlite') {
    const filename = join(mkdtempSync(join(tmpdir(), 'ponte-')), 'db.sqlite');
    const config: Knex.Config = { client: 'better-sqlite3', connection: { filename }, useNullAsDefault: true };
    const knex = knexFactory(config);
    return { dialect, knex, config, url: filename, destroy: () => knex.destroy() };
  }
  if (dialect === 'postgres') {
    const admin = knexFactory({ client: 'pg', connection: PG_URL, pool: { min: 0, max: 1 } });
    await admin.raw(`create schema ${name}`);
    const url = `${PG_URL}?options=-c%20search_path%3D${name}`;
    const config: Knex.Config = { client: 'pg', connection: { connectionString: PG_URL, options: `-c search_path=${name}` } as Knex.PgConnectionConfig, searchPath: [name] };
    const knex = knexFactory(config);
    return {
      dialect, knex, config, url,
      destroy: async () => {
        await knex.destroy();
        await admin.raw(`drop schema ${name} cascade`);
        await admin.destroy();
      },
    };
  }
  const admin = knexFactory({ client: 'mysql2', connection: MARIADB_URL, pool: { min: 0, max: 1 } });
  await admin.raw(`create database ${name}`);
  const url = MARIADB_URL.replace(/\/[^/]*$/, `/${name}`);
  const config: Knex.Config = { client: 'mysql2', connection: url };
  const knex = knexFactory(config);
  return {
    dialect, knex, config, url,
    destroy: async () => {
      await knex.destroy();
      await admin.raw(`drop database ${name}`);
      await admin.destroy();
    },
  };
}
