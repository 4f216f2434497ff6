// Opening the store: SQLite file by default (zero setup), PostgreSQL in production.
import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { keepCompiledStatements, type PreparingDatabase } from './sqlite-statements.js';
import { migrationSource, latestMigration } from '../../migrations/index.js';

// bigint columns (ids, epoch-ms instants) as JS numbers: all our values are far below 2^53.
pg.types.setTypeParser(20, (v) => Number(v));

export type StoreDialect = 'sqlite' | 'postgres' | 'mssql';

export interface StoreConfig {
  client: 'sqlite' | 'pg' | 'mssql';
  /** SQLite file. */
  filename?: string;
  /** Connection URL for pg/mssql (usually from DATABASE_URL). */
  url?: string;
  /** PostgreSQL schema (search_path), optional. */
  schema?: string;
  pool?: { max?: number };
}

export interface Store {
  knex: Knex;
  dialect: StoreDialect;
  close(): Promise<void>;
}

/** The store's dialect from its knex client (a transaction's too). */
export function storeDialect(knex: Knex): StoreDialect {
  const client = String(knex.client.config.client);
  return client === 'pg' || client === 'postgres' || client === 'postgresql' ? 'postgres' : client === 'mssql' ? 'mssql' : 'sqlite';
}

export function storeFromKnex(knex: Knex): Store {
  return { knex, dialect: storeDialect(knex), close: () => knex.destroy() };
}

export function openStore(cfg: StoreConfig): Store {
  if (cfg.client === 'sqlite') {
    const filename = cfg.filename ?? 'data/ponte.sqlite';
    if (filename !== ':memory:') mkdirSync(dirname(filename), { recursive: true });
    const knex = knexFactory({
      client: 'better-sqlite3',
      connection: { filename },
      useNullAsDefault: true,
      pool: {
        min: 1,
        max: 1,
        // WAL lets `ponte status` read while the daemon writes; busy_timeout rides out short locks.
        afterCreate: (conn: PreparingDatabase & { pragma(s: string): unknown }, done: (e: Error | null, c: unknown) => void) => {
          conn.pragma('journal_mode = WAL');
          // FULL: every commit is on disk before it returns, as PostgreSQL's are. With NORMAL a
          // power cut can lose the last seconds of commits, among them a `sending` whose request
          // had left: that delivery would come back pending and be sent twice. (A group commit at
          // 20 ms takes ~0.9 ms instead of ~0.55; throughput moved within the host's noise.)
          conn.pragma('synchronous = FULL');
          conn.pragma('busy_timeout = 5000');
          conn.pragma('foreign_keys = ON');
          done(null, keepCompiledStatements(conn));
        },
      },
    });
    return storeFromKnex(knex);
  }
  if (!cfg.url) throw new Error(`store: client "${cfg.client}" needs a connection URL (set DATABASE_URL)`);
  const knex = knexFactory({
    client: cfg.client,
    connection: cfg.url,
    pool: { min: 0, max: cfg.pool?.max ?? 10 },
    ...(cfg.schema ? { searchPath: [cfg.schema] } : {}),
  });
  return storeFromKnex(knex);
}

// Arbitrary, fixed: one advisory lock id for "Ponte is migrating this database".
const MIGRATION_LOCK = 7_320_104_611;

export async function migrateLatest(store: Store): Promise<string[]> {
  const latest = async () => ((await store.knex.migrate.latest({ migrationSource })) as [number, string[]])[1];
  if (String(store.knex.client.config.client) !== 'pg') return latest();
  // Several processes starting together on an empty PostgreSQL race in knex's own lock table
  // (both create it). A session advisory lock, held on one pooled connection while the migration
  // runs on others, makes them take turns: the later ones then find nothing to do.
  const client = store.knex.client as { acquireConnection(): Promise<unknown>; releaseConnection(c: unknown): Promise<void> };
  const conn = await client.acquireConnection();
  try {
    await store.knex.raw('select pg_advisory_lock(?)', [MIGRATION_LOCK]).connection(conn as never);
    try {
      return await latest();
    } finally {
      await store.knex.raw('select pg_advisory_unlock(?)', [MIGRATION_LOCK]).connection(conn as never);
    }
  } finally {
    await client.releaseConnection(conn);
  }
}

/** True when every migration this build knows has been applied. */
export async function migrationsCurrent(store: Store): Promise<boolean> {
  const [, pending] = (await store.knex.migrate.list({ migrationSource })) as [unknown[], unknown[]];
  return pending.length === 0 && latestMigration.length > 0;
}
