// Opening the store: SQLite file by default (zero setup), PostgreSQL in production.
import knexFactory, { type Knex } from 'knex';
import type { Logger } from 'pino';
import { knexLog } from './knex-log.js';
import { StoreOutage } from './outage.js';
import { boundQueries, withoutQueryTimeout } from './query-timeout.js';
import { withTimeout } from '../metrics/timeout.js';
import pg from 'pg';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { keepCompiledStatements, type PreparingDatabase } from './sqlite-statements.js';
import { forgetWal, type SqliteConnection } from './sqlite-commit.js';
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
  /**
   * PostgreSQL: how long a query may go unanswered before it fails and its connection is closed
   * (a frozen connection: no FIN, no RST). 0: no bound. Migrations and the purge are never bound.
   */
  queryTimeoutSeconds?: number;
  /** Which store and from which setting, for people (no credentials): "PostgreSQL 10.0.0.5:5432/ponte (from $DATABASE_URL)". */
  where?: string;
}

export interface Store {
  knex: Knex;
  dialect: StoreDialect;
  /** Which store this is and which setting chose it (StoreConfig.where). */
  where?: string;
  /** Said once when the store goes away under a running process, and when it is back (opened with a logger). */
  outage?: StoreOutage;
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

export function openStore(cfg: StoreConfig, opts: { log?: Logger } = {}): Store {
  if (cfg.client === 'sqlite') {
    const filename = cfg.filename ?? 'data/ponte.sqlite';
    if (filename !== ':memory:') mkdirSync(dirname(filename), { recursive: true });
    const knex = knexFactory({
      client: 'better-sqlite3',
      connection: { filename },
      useNullAsDefault: true,
      log: knexLog(opts.log),
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
          // The write-ahead log the group commit keeps open (sqlite-commit.ts) closes with the connection.
          const close = (conn as unknown as { close(): unknown }).close.bind(conn);
          (conn as unknown as { close(): unknown }).close = () => { forgetWal(conn as unknown as SqliteConnection); return close(); };
          done(null, keepCompiledStatements(conn));
        },
      },
    });
    return { ...storeFromKnex(knex), where: cfg.where ?? `SQLite file ${filename}` };
  }
  if (!cfg.url) throw new Error(`store: client "${cfg.client}" needs a connection URL (set DATABASE_URL)`);
  const outage = opts.log ? new StoreOutage(cfg.where ?? `the ${cfg.client} store`, opts.log) : undefined;
  const boundMs = (cfg.queryTimeoutSeconds ?? DEFAULT_STORE_QUERY_TIMEOUT_SECONDS) * 1000;
  const knex: Knex = knexFactory({
    client: cfg.client,
    connection: cfg.client === 'pg' ? pgStoreConnection(cfg.url) : cfg.url,
    pool: {
      min: 0,
      max: cfg.pool?.max ?? 10,
      ...(cfg.client === 'pg' ? { afterCreate: checkingClient(boundQueries({
        ms: boundMs, setting: 'store.queryTimeoutSeconds', what: 'the store',
        onTimeout: (e) => outage?.report(e),
        working: (conn): Promise<boolean> => backendWorking(knex, conn, boundMs),
      })) } : {}),
    },
    log: knexLog(opts.log, 'store', outage),
    ...(cfg.schema ? { searchPath: [cfg.schema] } : {}),
  });
  outage?.probe(knex);
  const store = storeFromKnex(knex);
  return {
    ...store, ...(cfg.where ? { where: cfg.where } : {}), ...(outage ? { outage } : {}),
    close: () => { outage?.close(); return store.close(); },
  };
}

/**
 * Whether PostgreSQL is still working on the statement of `conn` (a node-postgres client): its
 * backend is `active` and not blocked writing to a client that no longer reads (ClientWrite). Idle,
 * the statement has ended and its answer is lost on the way; gone, so is the connection. Asked on
 * another pooled connection, within `ms`: a store that cannot say fails it.
 */
export async function backendWorking(knex: Knex, conn: unknown, ms: number): Promise<boolean> {
  const pid = (conn as { processID?: unknown }).processID;
  if (typeof pid !== 'number') return true; // cannot tell which backend: as before the check, wait
  const r = await withTimeout(knex.raw('select state, wait_event from pg_stat_activity where pid = ?', [pid]), ms, 'pg_stat_activity');
  const row = (r as { rows: Array<{ state: string | null; wait_event: string | null }> }).rows[0];
  return row?.state === 'active' && row.wait_event !== 'ClientWrite';
}

/**
 * A store query unanswered this long means the connection froze (a dropped NAT/firewall state, a
 * paused VM): Ponte's statements take milliseconds, a commit of a 1,000-event batch well under a
 * second. The outage is then said and work resumes when the store answers, instead of after TCP's
 * ~15 min retransmission timeout.
 */
export const DEFAULT_STORE_QUERY_TIMEOUT_SECONDS = 30;

type AfterCreate = (conn: unknown, done: (e: Error | null, c: unknown) => void) => void;

/** How often a PostgreSQL backend running a statement checks that its client is still there. */
const CLIENT_CHECK_MS = 1_000;

/**
 * A statement abandoned by the query bound must not happen later. PostgreSQL does not notice a
 * closed connection while a statement runs or waits on a lock (a migration's index build, another
 * process's transaction): it went on, and a write whose caller was told "the store did not answer"
 * committed when the lock came free (a `sending` written after its worker had given up, held
 * uncertain although nothing was sent). client_connection_check_interval (PostgreSQL 14+, on
 * servers whose platform can watch sockets: Linux, macOS, the BSDs) has the backend check, and
 * cancel the statement once its client has gone. Where the server refuses the setting (12 and 13,
 * Windows) the old behaviour stays.
 */
export function checkingClient(next: AfterCreate): AfterCreate {
  return (raw, done) => next(raw, (e, conn) => {
    if (e) return done(e, conn);
    (conn as { query: (sql: string, cb: (e: Error | null) => void) => unknown }).query(`set client_connection_check_interval = ${CLIENT_CHECK_MS}`, (err) => {
      // Refused by the server (a SQLSTATE: 42704 on 12 and 13; 22023 where the server's platform
      // cannot watch sockets): the connection is fine, only without the check. A lost connection
      // or the query bound fails its creation as any other would.
      const code = (err as { code?: unknown } | null)?.code;
      const refused = typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code);
      done(err && !refused ? err : null, conn);
    });
  });
}

/**
 * node-postgres settings for the store. keepAlive: an idle pooled connection whose peer vanished
 * is found by the kernel's probes (from 30 s idle) rather than by the next query; probes do not
 * run while a query's bytes await acknowledgement, which is what the query bound (boundQueries)
 * is for. No connectionTimeoutMillis: a connect unanswered is bounded by knex's acquire timeout
 * and the outage probe's own; a connect timer's error, raised during an outage, surfaced after
 * it as a second one (the blackhole drill).
 */
function pgStoreConnection(url: string): Knex.PgConnectionConfig {
  return { connectionString: url, keepAlive: true, keepAliveInitialDelayMillis: 30_000 } as Knex.PgConnectionConfig;
}

/** Host, port and database of a connection URL: never its user or password. */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}${u.port ? `:${u.port}` : ''}${u.pathname}`;
  } catch {
    return '(a URL that does not parse)';
  }
}

// Errors that mean "this store cannot be reached as configured", worth naming the setting for.
const UNREACHABLE = new Set(['PONTE_QUERY_TIMEOUT', 'ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ECONNRESET', '28P01', '28000', '3D000', 'SQLITE_CANTOPEN', 'ESOCKET', 'ELOGIN']);

/** Connects once: a store that cannot be reached is an error naming it and the setting that chose it. */
export async function connectStore(store: Store): Promise<void> {
  await reachable(store, store.knex.raw('select 1'));
}

/** A store that cannot be reached is named, with the setting that chose it. */
function reachable<T>(store: Store, work: Promise<T>): Promise<T> {
  return work.catch((e: unknown) => {
    const code = (e as { code?: string }).code;
    const timeout = e instanceof Error && e.name === 'KnexTimeoutError';
    if (!store.where || !(timeout || (code && UNREACHABLE.has(code)))) throw e;
    throw new Error(`the store cannot be reached: ${store.where}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  });
}

// Arbitrary, fixed: one advisory lock id for "Ponte is migrating this database".
const MIGRATION_LOCK = 7_320_104_611;

export function migrateLatest(store: Store): Promise<string[]> {
  // Unbounded: a migration may rewrite a large table for minutes, and one cut off half-way would
  // leave the next start to retry it from the top.
  return reachable(store, withoutQueryTimeout(() => migrate(store)));
}

/**
 * A store a newer Ponte has migrated (a rollback, or one process of several not yet upgraded):
 * knex's own refusal reads "The migration directory is corrupt", which sends an operator looking
 * for damage in the install. Say what it is instead, and never run on a schema this build does not know.
 */
async function refuseNewerStore(store: Store): Promise<void> {
  const why = await newerStoreProblem(store);
  if (why) throw new Error(why);
}

/** Why this build must not work on the store (a newer Ponte migrated it), or null. */
export async function newerStoreProblem(store: Store): Promise<string | null> {
  const applied = await appliedMigrations(store);
  return applied && newerProblem(applied, await migrationSource.getMigrations([]));
}

/** The migrations recorded in the store, oldest first; null before the first (no knex table yet). Read only. */
async function appliedMigrations(store: Store): Promise<string[] | null> {
  if (!(await store.knex.schema.hasTable('knex_migrations'))) return null;
  return (await store.knex('knex_migrations').orderBy('id').pluck('name')) as string[];
}

function newerProblem(applied: string[], known: string[]): string | null {
  const unknown = applied.filter((name) => !known.includes(name));
  if (unknown.length === 0) return null;
  return `the store was migrated by a newer Ponte: this version does not know its migration(s) ${unknown.join(', ')} `
    + `(its latest is ${latestMigration}). Run the newer version (every process sharing this store): a store cannot go back to an older release`;
}

async function migrate(store: Store): Promise<string[]> {
  const latest = async () => {
    await refuseNewerStore(store);
    return ((await store.knex.migrate.latest({ migrationSource })) as [number, string[]])[1];
  };
  if (String(store.knex.client.config.client) !== 'pg') return latest();
  // Several processes starting together on an empty PostgreSQL race in knex's own lock table
  // (both create it). A session advisory lock, held on one pooled connection while the migration
  // runs on others, makes them take turns: the later ones then find nothing to do.
  const client = store.knex.client as { acquireConnection(): Promise<unknown>; releaseConnection(c: unknown): Promise<void> };
  const conn = await client.acquireConnection();
  try {
    await store.knex.raw('select pg_advisory_lock(?)', [MIGRATION_LOCK]).connection(conn as never);
    try {
      await singleLockRow(store);
      return await latest();
    } finally {
      await store.knex.raw('select pg_advisory_unlock(?)', [MIGRATION_LOCK]).connection(conn as never);
    }
  } finally {
    await client.releaseConnection(conn);
  }
}

/**
 * A store where that race happened (see pendingMigrations) has two rows in knex's lock table, and
 * knex refuses to migrate it for ever. Under the advisory lock no other Ponte is migrating, and
 * every Ponte migration runs in a transaction (a crash leaves no lock taken), so the extra rows go.
 */
async function singleLockRow(store: Store): Promise<void> {
  if (!(await store.knex.schema.hasTable('knex_migrations_lock'))) return;
  const rows = (await store.knex('knex_migrations_lock').orderBy('index').pluck('index')) as number[];
  if (rows.length > 1) await store.knex('knex_migrations_lock').whereIn('index', rows.slice(1)).del();
}

/**
 * The migrations this build would apply, oldest first (a store migrated by a newer Ponte is refused).
 * Read from knex_migrations directly: knex's migrate.list() creates its tables and inserts the row
 * of its lock table when it finds none, outside migrate()'s advisory lock. Processes starting
 * together on an empty store raced there: two inserted that row, and knex's lock (an UPDATE that
 * must touch exactly one row) then failed every migration with "Migration table is already locked".
 */
export async function pendingMigrations(store: Store): Promise<string[]> {
  const known = await migrationSource.getMigrations([]);
  const applied = await appliedMigrations(store);
  if (!applied) return known;
  const why = newerProblem(applied, known);
  if (why) throw new Error(why);
  return known.filter((name) => !applied.includes(name));
}

/** True when every migration this build knows has been applied. */
export async function migrationsCurrent(store: Store): Promise<boolean> {
  return (await pendingMigrations(store)).length === 0 && latestMigration.length > 0;
}
