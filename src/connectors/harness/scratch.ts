// Throw-away back-office databases: a SQLite file, or a fresh schema (PostgreSQL) or database
// (MariaDB) on a real server. Used by the acceptance harness and by the test suites.
import knexFactory, { type Knex } from 'knex';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';

export type Dialect = 'sqlite' | 'postgres' | 'mariadb';

export const PG_URL = process.env.PONTE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const MARIADB_URL = process.env.PONTE_TEST_MARIADB_URL ?? 'mysql://root@127.0.0.1:3306/test';

export interface ScratchDb {
  dialect: Dialect;
  knex: Knex;
  /** knex config that reaches the same scratch schema/database (for child processes). */
  config: Knex.Config;
  /** Connection URL for child processes (postgres/mariadb) or the SQLite filename. */
  url: string;
  /** The knex client name, as a connector's `source.client`. */
  client: 'better-sqlite3' | 'pg' | 'mysql2';
  destroy(): Promise<void>;
}

/** A fresh, empty schema (PG), database (MariaDB) or file (SQLite). */
export async function scratchDb(dialect: Dialect): Promise<ScratchDb> {
  const name = `ponte_t_${randomBytes(5).toString('hex')}`;
  if (dialect === 'sqlite') {
    const filename = join(mkdtempSync(join(tmpdir(), 'ponte-')), 'db.sqlite');
    const config: Knex.Config = { client: 'better-sqlite3', connection: { filename }, useNullAsDefault: true };
    const knex = knexFactory(config);
    return {
      dialect, knex, config, url: filename, client: 'better-sqlite3',
      destroy: async () => { await knex.destroy(); rmSync(dirname(filename), { recursive: true, force: true }); },
    };
  }
  if (dialect === 'postgres') {
    const admin = knexFactory({ client: 'pg', connection: PG_URL, pool: { min: 0, max: 1 } });
    await admin.raw(`create schema ${name}`);
    const url = `${PG_URL}?options=-c%20search_path%3D${name}`;
    const config: Knex.Config = { client: 'pg', connection: { connectionString: PG_URL, options: `-c search_path=${name}` } as Knex.PgConnectionConfig, searchPath: [name] };
    const knex = knexFactory(config);
    return {
      dialect, knex, config, url, client: 'pg',
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
    dialect, knex, config, url, client: 'mysql2',
    destroy: async () => {
      await knex.destroy();
      await admin.raw(`drop database ${name}`);
      await admin.destroy();
    },
  };
}
