// The back-office database a SQL connector reads: config schema, connection, dialect helpers.
// Connection strings hold passwords, so config only names the environment variable holding one.
import knexFactory, { type Knex } from 'knex';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import pg from 'pg';
import { z } from 'zod';
import { knexLog } from '../../store/knex-log.js';
import { boundQueries, QueryTimeoutError } from '../../store/query-timeout.js';

export const SQL_CLIENTS = ['mssql', 'pg', 'mysql2', 'better-sqlite3'] as const;

export const sqlSourceSchema = z
  .strictObject({
    /** knex client: SQL Server, PostgreSQL, MySQL/MariaDB, SQLite. */
    client: z.enum(SQL_CLIENTS),
    /** Name of the environment variable holding the connection URL/string (never the secret itself). */
    connectionEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name, e.g. PONTE_BACKOFFICE_URL').optional(),
    /** SQLite only: the database file (opened read-only). */
    filename: z.string().min(1).optional(),
    /**
     * How long one query (a page) may go unanswered before the run fails and its connection is
     * closed: a frozen back-office (no FIN, no RST) fails the run instead of hanging it for ever.
     * Default 60 (DEFAULT_QUERY_TIMEOUT_SECONDS). SQL Server: tedious' requestTimeout.
     */
    queryTimeoutSeconds: z.number().positive().max(3600).optional(),
  })
  .superRefine((v, ctx) => {
    if (v.client === 'better-sqlite3') {
      if (!v.filename && !v.connectionEnv) ctx.addIssue({ code: 'custom', path: ['filename'], message: 'SQLite needs filename (or connectionEnv naming a variable that holds the file path)' });
    } else {
      if (!v.connectionEnv) ctx.addIssue({ code: 'custom', path: ['connectionEnv'], message: `client ${v.client} needs connectionEnv: the name of the environment variable holding the connection string` });
      if (v.filename) ctx.addIssue({ code: 'custom', path: ['filename'], message: 'filename is for the better-sqlite3 client only' });
    }
  });

export type SqlSourceConfig = z.infer<typeof sqlSourceSchema>;

function fromEnv(name: string, env: NodeJS.ProcessEnv): string {
  const value = env[name];
  if (value === undefined || value.trim() === '') throw new Error(`back-office database: environment variable ${name} is not set`);
  return value.trim();
}

/**
 * SQL Server: a URL (mssql://user:pass@host:1433/db?encrypt=true, see mssqlUrl) or an ADO.NET
 * string (Server=host,1433;Database=db;User Id=...;Password=...) is what DBAs usually hand out,
 * so it is accepted too and mapped onto knex's tedious settings.
 */
function mssqlConnection(value: string, envName: string): Knex.MsSqlConnectionConfig {
  if (value.includes('://')) return mssqlUrl(value, envName);
  const require = createRequire(import.meta.url);
  const { ConnectionPool } = require('mssql') as typeof import('mssql');
  let parsed: Record<string, unknown>;
  try {
    parsed = ConnectionPool.parseConnectionString(value) as unknown as Record<string, unknown>;
  } catch {
    // The parser's message may quote the string, password included.
    throw new Error(`back-office database: ${envName} is neither an mssql:// URL nor a valid SQL Server connection string`);
  }
  const { pool: _pool, ...settings } = parsed;
  if (!settings.server) throw new Error(`back-office database: the connection string in ${envName} names no server`);
  return settings as unknown as Knex.MsSqlConnectionConfig;
}

/**
 * mssql://user:password@server:port/database?encrypt=true as tedious settings. Left to knex, the
 * URL's port reached tedious as text, which it refuses ("config.options.port" must be a number).
 */
function mssqlUrl(value: string, envName: string): Knex.MsSqlConnectionConfig {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    // Node's message would be fine, but its `input` holds the password.
    throw new Error(`back-office database: ${envName} is not a valid mssql:// URL (percent-encode special characters in the password)`);
  }
  const options: Record<string, unknown> = {};
  for (const [k, v] of url.searchParams) options[k] = v === 'true' ? true : v === 'false' ? false : v;
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  return {
    server: url.hostname,
    ...(url.port ? { port: Number(url.port) } : {}),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    ...(database ? { database } : {}),
    options,
  } as Knex.MsSqlConnectionConfig;
}

/**
 * Zone-less dates and date-times reach connectors as the text the database holds
 * ('2026-06-01 10:30:00', '2026-06-01'), the way `dates:` columns are read. Left to the drivers,
 * node-postgres and mysql2 read a date-time in the Ponte process's own zone (under TZ=UTC a Rome
 * 10:30 printed as 12:30) and a DATE as local midnight (the day before, west of UTC), and tedious
 * reads both as UTC. As text, a template's date filter places them in the connector's zone.
 * Types with a zone (timestamptz, datetimeoffset, MySQL TIMESTAMP) stay instants (Date).
 */
const PG_ZONELESS = new Set([1082 /* date */, 1114 /* timestamp */]);
const MSSQL_ZONELESS = new Set(['Date', 'DateTime', 'DateTimeN', 'DateTime2', 'SmallDateTime']);

function pgConnection(url: string, connectTimeoutMs: number): Knex.PgConnectionConfig {
  const types = {
    getTypeParser: (oid: number, format?: string) => (PG_ZONELESS.has(oid) && format !== 'binary' ? (text: string) => text : pg.types.getTypeParser(oid, format as 'text')),
  };
  // A connect (TCP and startup) unanswered fails as tedious' and mysql2's do, instead of never.
  return { connectionString: url, types, keepAlive: true, connectionTimeoutMillis: connectTimeoutMs } as Knex.PgConnectionConfig;
}

/**
 * A page of 1,000 rows takes well under a second on an indexed keyset, seconds on a slow SQL
 * Server or a view; tedious' own default, which SQL Server connectors lived with until this
 * setting, was 15 s. 60 s leaves a slow back-office room and still fails a frozen one within a
 * minute, long before the next schedule of most connectors.
 */
export const DEFAULT_QUERY_TIMEOUT_SECONDS = 60;
/** A connect unanswered (TCP and the database's handshake): tedious' default; never more than the query bound. */
const CONNECT_TIMEOUT_MS = 15_000;
const SETTING = 'source.queryTimeoutSeconds';

/** tedious, with useUTC (its default, set here explicitly), encodes a zone-less value's wall clock as UTC fields. */
interface TediousColumn { metadata?: { type?: { name?: string } }; value: unknown }
export function mssqlWallText(rows: unknown): void {
  if (!Array.isArray(rows)) return;
  for (const row of rows) {
    if (!Array.isArray(row)) continue;
    for (const col of row as TediousColumn[]) {
      const type = col?.metadata?.type?.name;
      if (!(col?.value instanceof Date) || !type || !MSSQL_ZONELESS.has(type) || Number.isNaN(col.value.getTime())) continue;
      const iso = col.value.toISOString();
      col.value = type === 'Date' ? iso.slice(0, 10) : `${iso.slice(0, 10)} ${iso.slice(11, 23)}`;
    }
  }
}

function mssqlSource(connection: string | Knex.MsSqlConnectionConfig, common: Knex.Config): Knex {
  const settings = typeof connection === 'string' ? connection : { ...connection, options: { ...connection.options, useUTC: true } };
  const knex = knexFactory({ client: 'mssql', connection: settings, ...common });
  // knex hands tedious's rows (columns with their type metadata) to processResponse: the one place
  // where a DateTimeOffset can be told from a zone-less DateTime.
  const client = knex.client as { processResponse(query: { response?: unknown } | null, runner: unknown): unknown };
  const processResponse = client.processResponse.bind(client);
  client.processResponse = (query, runner) => {
    mssqlWallText(query?.response);
    return processResponse(query, runner);
  };
  return knex;
}

/** Opens (lazily: knex connects on the first query) the back-office database. Call destroy() when done. */
export function openSqlSource(cfg: SqlSourceConfig, env: NodeJS.ProcessEnv = process.env): Knex {
  return withDatabaseMessages(openKnex(cfg, env));
}

/** Marks an error whose message is the back-office database's own, the query text removed. */
export const QUERY_REFUSED = Symbol('ponte.queryRefused');

/**
 * knex prefixes a failed query's error with the whole SQL ("<sql> - <database message>"). For a
 * declarative connector that is the generated wrapper around query.sql: a screenful that hides
 * the one line that matters, and, with its bindings written in, values read from the back-office.
 * Bindings are never compiled into the message (compileSqlOnError: false, set in openKnex), and
 * the SQL prefix is cut off as the error is raised, so callers see only what the database said.
 */
function withDatabaseMessages(knex: Knex): Knex {
  knex.on('query-error', (err: unknown, query: { sql?: unknown }) => {
    if (!(err instanceof Error) || typeof query?.sql !== 'string') return;
    const prefix = `${query.sql} - `;
    if (err.message.startsWith(prefix)) err.message = err.message.slice(prefix.length);
    Object.defineProperty(err, QUERY_REFUSED, { value: true });
  });
  return knex;
}

function openKnex(cfg: SqlSourceConfig, env: NodeJS.ProcessEnv): Knex {
  const timeoutMs = (cfg.queryTimeoutSeconds ?? DEFAULT_QUERY_TIMEOUT_SECONDS) * 1000;
  const connectMs = Math.min(CONNECT_TIMEOUT_MS, timeoutMs);
  const common = { pool: { min: 0, max: 2 }, acquireConnectionTimeout: 15_000, compileSqlOnError: false, log: knexLog(undefined, 'back-office') };
  // pg and mysql2: the bound is Ponte's (a frozen connection is closed, so the pool can be too).
  const bounded = { ...common, pool: { ...common.pool, afterCreate: boundQueries({ ms: timeoutMs, setting: SETTING, what: 'the back-office database' }) } };
  switch (cfg.client) {
    case 'better-sqlite3': {
      const filename = cfg.filename ?? fromEnv(cfg.connectionEnv!, env);
      // SQLite's own "unable to open database file" names neither file nor cause.
      if (!existsSync(filename)) throw new Error(`back-office database: the SQLite file ${filename} does not exist`);
      // Read-only: a connector never writes to a back-office, and a wrong path fails instead of
      // creating an empty database.
      return knexFactory({ client: 'better-sqlite3', connection: { filename, options: { readonly: true } } as Knex.BetterSqlite3ConnectionConfig, useNullAsDefault: true, ...common });
    }
    case 'mssql': {
      // tedious' requestTimeout: on expiry it cancels the request (an ATTENTION) and, when the
      // server does not confirm within its cancelTimeout (5 s, a frozen connection), closes it.
      const name = cfg.connectionEnv!;
      const connection = mssqlConnection(fromEnv(name, env), name);
      // The setting wins over a requestTimeout in the connection string: one place, one message.
      return mssqlSource({ ...connection, requestTimeout: timeoutMs, options: { ...connection.options, requestTimeout: timeoutMs } as Knex.MsSqlConnectionConfig['options'] }, common);
    }
    case 'pg':
      return knexFactory({ client: 'pg', connection: pgConnection(fromEnv(cfg.connectionEnv!, env), connectMs), ...bounded });
    case 'mysql2':
      return knexFactory({ client: 'mysql2', connection: { uri: fromEnv(cfg.connectionEnv!, env), dateStrings: ['DATE', 'DATETIME'], connectTimeout: connectMs } as unknown as Knex.MySql2ConnectionConfig, ...bounded });
  }
}

export type SqlDialect = 'mssql' | 'pg' | 'mysql' | 'sqlite';

/** The SQL dialect of a knex instance (mysql covers MariaDB). */
export function dialectOf(knex: Knex): SqlDialect {
  const dialect = (knex.client as { dialect?: string }).dialect;
  switch (dialect) {
    case 'mssql': return 'mssql';
    case 'postgresql': return 'pg';
    case 'mysql': return 'mysql';
    case 'sqlite3': return 'sqlite';
    default: throw new Error(`unsupported back-office database dialect: ${dialect}`);
  }
}

/**
 * SELECT expression reading a zone-less datetime column as wall-clock TEXT, so no driver applies
 * a time zone to it (mssql would assume UTC, pg and mysql2 the process zone). Parse the result
 * with parseWallTime from ./local-time.js.
 */
export function selectLocalDateTime(knex: Knex, column: string, alias: string): Knex.Raw {
  switch (dialectOf(knex)) {
    case 'pg': return knex.raw(`to_char(??, 'YYYY-MM-DD"T"HH24:MI:SS.US') as ??`, [column, alias]);
    case 'mysql': return knex.raw(`DATE_FORMAT(??, '%Y-%m-%dT%H:%i:%s.%f') as ??`, [column, alias]);
    case 'mssql': return knex.raw('CONVERT(varchar(33), ??, 126) as ??', [column, alias]);
    // SQLite has no datetime type: the text is what the back-office wrote.
    case 'sqlite': return knex.raw('CAST(?? AS TEXT) as ??', [column, alias]);
  }
}

/** SELECT expression reading a DATE column as 'YYYY-MM-DD' text. */
export function selectLocalDate(knex: Knex, column: string, alias: string): Knex.Raw {
  switch (dialectOf(knex)) {
    case 'pg': return knex.raw(`to_char(??, 'YYYY-MM-DD') as ??`, [column, alias]);
    case 'mysql': return knex.raw(`DATE_FORMAT(??, '%Y-%m-%d') as ??`, [column, alias]);
    case 'mssql': return knex.raw('CONVERT(varchar(10), ??, 23) as ??', [column, alias]);
    case 'sqlite': return knex.raw('CAST(?? AS TEXT) as ??', [column, alias]);
  }
}

/**
 * A window bound to compare a local datetime/date column with, from 'YYYY-MM-DD HH:MM:SS' or
 * 'YYYY-MM-DD'. SQL Server converts with an explicit style (120/23) because an Italian login
 * (DATEFORMAT dmy) would read a bare '2026-03-29 ...' string as day 3 of month 29 when the column
 * is the legacy datetime type. SQLite compares the text as it is.
 */
export function localBound(knex: Knex, value: string, kind: 'datetime' | 'date'): Knex.Raw {
  switch (dialectOf(knex)) {
    case 'mssql': return kind === 'datetime' ? knex.raw('CONVERT(datetime2, ?, 120)', [value]) : knex.raw('CONVERT(date, ?, 23)', [value]);
    case 'pg': return kind === 'datetime' ? knex.raw('CAST(? AS timestamp)', [value]) : knex.raw('CAST(? AS date)', [value]);
    case 'mysql': return kind === 'datetime' ? knex.raw('CAST(? AS DATETIME)', [value]) : knex.raw('CAST(? AS DATE)', [value]);
    case 'sqlite': return knex.raw('?', [value]);
  }
}

/**
 * Condition: the column's value as text, trimmed and upper-cased, is one of `values` (status
 * checks that ignore CHAR padding and case; the cast also lets an integer status code match "1").
 */
export function normalisedTextIn(knex: Knex, column: string, values: readonly string[]): Knex.Raw {
  if (values.length === 0) return knex.raw('1 = 0');
  const asText = { mssql: 'CAST(?? AS nvarchar(400))', pg: 'CAST(?? AS text)', mysql: 'CAST(?? AS CHAR)', sqlite: 'CAST(?? AS TEXT)' }[dialectOf(knex)];
  return knex.raw(`UPPER(LTRIM(RTRIM(${asText}))) in (${values.map(() => '?').join(', ')})`, [column, ...values.map((v) => v.trim().toUpperCase())]);
}

/** A connector's check(): the query runs (returning nothing) with the configured table and columns. */
export async function checkReadable(source: SqlSourceConfig, what: string, query: (knex: Knex) => Knex.QueryBuilder, log: { info(o: object, m: string): void }): Promise<void> {
  const knex = openSqlSource(source);
  try {
    await query(knex).whereRaw('1 = 0');
    log.info({ source: what }, 'table and columns readable');
  } catch (e) {
    throw new Error(`${what}: cannot be read with the configured columns: ${(e as Error).message}`);
  } finally {
    await knex.destroy();
  }
}

/**
 * A back-office that did not answer, in the words of QueryTimeoutError whichever driver said it
 * (tedious: "Timeout: Request failed to complete in 60000ms"; node-postgres, on connect: "timeout
 * expired"); any other error unchanged.
 */
export function unansweredBackOffice(e: unknown, source: SqlSourceConfig): unknown {
  if (!(e instanceof Error) || e instanceof QueryTimeoutError) return e;
  const code = (e as { code?: unknown }).code;
  if (code === 'ETIMEOUT' && /Timeout: Request failed to complete/.test(e.message)) {
    return Object.assign(new QueryTimeoutError(source.queryTimeoutSeconds ?? DEFAULT_QUERY_TIMEOUT_SECONDS, SETTING, 'the back-office database', 'the query was cancelled'), { cause: e });
  }
  // node-postgres' and mysql2's own connect timers (not the kernel's "connect ETIMEDOUT <address>").
  if ((source.client === 'pg' && e.message === 'timeout expired') || (source.client === 'mysql2' && e.message === 'connect ETIMEDOUT')) {
    const seconds = Math.min(CONNECT_TIMEOUT_MS / 1000, source.queryTimeoutSeconds ?? DEFAULT_QUERY_TIMEOUT_SECONDS);
    return new Error(`the back-office database did not answer a connection within ${seconds} s`, { cause: e });
  }
  return e;
}

/**
 * Runs a poll against a back-office, closing the connection pool however the poll ends. A query
 * left unanswered (source.queryTimeoutSeconds) has had its connection closed, so closing the pool
 * does not wait on it.
 */
export async function* readFrom<T>(source: SqlSourceConfig, poll: (knex: Knex) => AsyncIterable<T>): AsyncGenerator<T> {
  const knex = openSqlSource(source);
  try {
    yield* poll(knex);
  } catch (e) {
    throw unansweredBackOffice(e, source);
  } finally {
    await knex.destroy();
  }
}
