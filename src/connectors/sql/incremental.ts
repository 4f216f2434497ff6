/**
 * The run of an 'incremental' SQL connector: the rows changed since the last run, read by a
 * compound keyset cursor (change column, unique id) up to a bound fixed from the DATABASE clock
 * minus a lag, one Batch per page. The runner commits each page's events and its cursor in one
 * store transaction, so a crash resumes after the last committed page (peers.md §2 and §5).
 *
 * How a connector author uses it:
 *
 * ```ts
 * import { defineConnector } from '../../src/connectors/contract.js';
 * import { openSqlSource } from '../../src/connectors/sql/source.js';
 * import { checkIncremental, pollIncremental, type IncrementalCursor, type IncrementalSpec } from '../../src/connectors/sql/incremental.js';
 *
 * // A notification whenever a building-permit application changes state.
 * const pratiche: IncrementalSpec = {
 *   source: 'dbo.Pratiche',            // or (k) => k('dbo.Pratiche').where('Tipo', 'EDILIZIA')
 *   name: 'pratiche edilizie',         // for messages; defaults to the table
 *   idColumn: 'IdPratica',             // unique, never NULL: the tie-breaker of the cursor
 *   cursor: {
 *     column: 'UltimaModifica',        // the change column: set on EVERY write, never NULL
 *     sqlType: 'datetime2(7)',         // its exact type ('datetime' for legacy columns)
 *     lagSeconds: 5,                   // rows newer than DB clock - 5 s wait for the next run
 *   },
 *   // or, on SQL Server: cursor: { kind: 'rowversion', column: 'RowVer' }
 *   startFrom: 'now',                  // first run: do not notify the whole history
 *   pageSize: 500,
 *   mapRow: (row, id) => ({
 *     events: [{
 *       key: `pratica:${id}:${String(row.Stato)}`,   // permanent: the same change, the same key
 *       type: 'pratica-stato',
 *       entity: `pratica:${id}`,
 *       recipient: { fiscalCode: String(row.CodiceFiscale) },
 *       data: { numero: row.Numero, stato: row.Stato },
 *       rowKey: id,
 *     }],
 *   }),
 * };
 *
 * export default defineConnector<typeof configSchema, IncrementalCursor>({
 *   name: 'pratiche', shape: 'incremental', configSchema, eventTypes, description: '…',
 *   async check(config) {
 *     const knex = openSqlSource(config.source);
 *     try { await checkIncremental(knex, pratiche); } finally { await knex.destroy(); }
 *   },
 *   async *poll(ctx) {
 *     const knex = openSqlSource(ctx.config.source);
 *     try { yield* pollIncremental(knex, pratiche, ctx); } finally { await knex.destroy(); }
 *   },
 * });
 * ```
 *
 * Rules it follows (each defeats a pitfall from peers.md §2):
 * - Keyset on (change column, id): `ts >= :last AND (ts > :last OR id > :lastId)`, ordered by
 *   ts, id — rows sharing one timestamp across a page boundary are neither skipped nor repeated.
 * - Upper bound `ts <= :upper`, where upper = database clock - lagSeconds, read ONCE before the
 *   first page: a row committed late with a timestamp inside the lag is read next run.
 * - The cursor is the change column as TEXT at the database's precision (µs, 100 ns), compared
 *   back with a cast to `sqlType`; it never goes through a JS Date.
 * - The time zone convention: the bound is computed by the database in the same representation
 *   as the column (see CursorClock in ./cursor-sql.js): set `clock: 'utc'` when a zone-less
 *   column holds UTC. SQLite's clock is UTC; its column must be 'YYYY-MM-DD HH:MM:SS[.fff]' text.
 * - Rows whose change column or id is NULL can never be reached by a keyset: checkIncremental
 *   fails naming the table and column, and every run reports them as row errors.
 * - SQL Server rowversion mode: `rv > :last AND rv < :MIN_ACTIVE_ROWVERSION()` (read once),
 *   compared as binary; rowversion is unique, so no id tie-break.
 *
 * Limitation: a zone-less local-time column goes back one hour on the autumn DST night; rows
 * written in the repeated hour fall behind the cursor. Use UTC (clock: 'utc'), timestamptz /
 * datetimeoffset, or rowversion where the back-office allows.
 */
import type { Knex } from 'knex';
import type { Batch, Cancellation, EmittedEvent, PollContext, RowError } from '../contract.js';
import { dialectOf } from './source.js';
import { cellText } from './rows.js';
import {
  DEFAULT_CURSOR_TYPE, clockText, cursorText, cursorValue, isRowversionHex, isSafeSqlType, minActiveRowversionText,
  previousRowversion, rowversionBytes, rowversionText, sqliteMalformedCursor, type CursorClock,
} from './cursor-sql.js';

/** Cursor on a datetime column, with the row id as tie-breaker. */
export interface TimestampCursorSpec {
  kind?: 'timestamp';
  /** The change column: updated on every write that should be noticed, never NULL. */
  column: string;
  /**
   * The column's SQL type, which the stored cursor text is cast back to. Defaults:
   * PostgreSQL timestamp(6), MariaDB DATETIME(6), SQL Server datetime2(7); ignored by SQLite.
   * Set it for legacy SQL Server `datetime` (its 1/300 s values do not survive datetime2) and
   * for PostgreSQL `timestamptz`.
   */
  sqlType?: string;
  /** Seconds below the database clock not read yet: rows committed late are not skipped. Default 5. */
  lagSeconds?: number;
  /** Default 'database'; see CursorClock. */
  clock?: CursorClock;
}

/** SQL Server only: cursor on a rowversion column, bounded by MIN_ACTIVE_ROWVERSION(). */
export interface RowversionCursorSpec {
  kind: 'rowversion';
  column: string;
}

/** What one changed row produces. Bad data is an error entry, never an exception. */
export interface RowOutcome {
  events?: EmittedEvent[];
  cancellations?: Cancellation[];
  errors?: RowError[];
}

export interface IncrementalSpec {
  /** A table ('dbo.Pratiche') or the source query as a knex builder (no ORDER BY, no LIMIT). */
  source: string | ((knex: Knex) => Knex.QueryBuilder);
  /** How error messages name the source; defaults to the table, or "source query". */
  name?: string;
  /** Unique, never-NULL column: the cursor's tie-breaker and the rows' key in error reports. */
  idColumn: string;
  cursor: TimestampCursorSpec | RowversionCursorSpec;
  /** Rows per page, i.e. per Batch (and per store transaction). Default 1000. */
  pageSize?: number;
  /**
   * Where the first run (no stored cursor) starts: 'beginning' reads every existing row,
   * 'now' reads none of them and only notices changes from this run's bound on.
   */
  startFrom: 'beginning' | 'now';
  /** Report rows with a NULL change column or id as row errors at every run. Default true. */
  reportNullRows?: boolean;
  /** The row (all source columns) and its id as text. */
  mapRow(row: Record<string, unknown>, id: string): RowOutcome;
}

/** Stored after each page. `id` absent: every row at `ts` is done (a 'now' start). */
export interface TimestampCursor {
  ts: string;
  id?: string | number;
}

export interface RowversionCursor {
  /** '0x' + 16 hex digits. */
  rowversion: string;
}

export type IncrementalCursor = TimestampCursor | RowversionCursor;

export type IncrementalContext = Pick<PollContext<unknown, IncrementalCursor>, 'cursor' | 'signal' | 'log'>;

/** At most this many NULL rows are named per run (they stay reported until fixed). */
export const NULL_REPORT_LIMIT = 100;

// Internal column aliases; removed before mapRow sees the row.
const TS = 'ponte_cursor_ts';
const ID = 'ponte_cursor_id';
const RV = 'ponte_cursor_rv';
const UPPER = 'ponte_upper';

interface Resolved {
  spec: IncrementalSpec;
  name: string;
  pageSize: number;
  /** Qualified with the source alias. */
  id: string;
  column: string;
  mode: 'timestamp' | 'rowversion';
  sqlType: string;
  lagSeconds: number;
  clock: CursorClock;
}

function resolve(knex: Knex, spec: IncrementalSpec): Resolved {
  const dialect = dialectOf(knex);
  const name = spec.name ?? (typeof spec.source === 'string' ? spec.source : 'source query');
  const fail = (setting: string, message: string) => { throw new Error(`incremental source "${name}": ${setting} ${message}`); };
  const pageSize = spec.pageSize ?? 1000;
  if (!Number.isInteger(pageSize) || pageSize < 1) fail('pageSize', `must be a positive integer, got ${pageSize}`);
  if (spec.startFrom !== 'beginning' && spec.startFrom !== 'now') fail('startFrom', `must be 'beginning' or 'now', got ${String(spec.startFrom)}`);
  if (!spec.idColumn) fail('idColumn', 'is required');
  if (!spec.cursor?.column) fail('cursor.column', 'is required');
  const base = { spec, name, pageSize, id: `q.${spec.idColumn}`, column: `q.${spec.cursor.column}` };
  if (spec.cursor.kind === 'rowversion') {
    if (dialect !== 'mssql') fail('cursor.kind', `rowversion is SQL Server only (this source is ${dialect})`);
    return { ...base, mode: 'rowversion', sqlType: 'rowversion', lagSeconds: 0, clock: 'database' };
  }
  const sqlType = (spec.cursor.sqlType ?? DEFAULT_CURSOR_TYPE[dialect]).trim();
  if (!isSafeSqlType(sqlType)) fail('cursor.sqlType', `is not a plain SQL type name: ${sqlType}`);
  const lagSeconds = spec.cursor.lagSeconds ?? 5;
  if (!Number.isFinite(lagSeconds) || lagSeconds < 0 || lagSeconds > 86_400) fail('cursor.lagSeconds', `must be between 0 and 86400, got ${lagSeconds}`);
  const clock = spec.cursor.clock ?? 'database';
  if (clock !== 'database' && clock !== 'utc') fail('cursor.clock', `must be 'database' or 'utc', got ${String(clock)}`);
  return { ...base, mode: 'timestamp', sqlType, lagSeconds, clock };
}

/** The source aliased `q`. */
function fromSource(knex: Knex, r: Resolved): Knex.QueryBuilder {
  const src = r.spec.source;
  return typeof src === 'string' ? knex.from({ q: src }) : knex.from(src(knex).as('q'));
}

/** The statement fixing this run's upper bound (exclusive for rowversion, inclusive otherwise). */
export function upperBoundQuery(knex: Knex, spec: IncrementalSpec): Knex.QueryBuilder {
  const r = resolve(knex, spec);
  const expr = r.mode === 'rowversion' ? minActiveRowversionText(knex) : clockText(knex, r.clock, r.lagSeconds, r.sqlType);
  return knex.select(knex.raw('? as ??', [expr, UPPER]));
}

/** This run's upper bound as text, read from the database (never through a JS Date). */
export async function readUpperBound(knex: Knex, spec: IncrementalSpec): Promise<string> {
  const rows = (await upperBoundQuery(knex, spec)) as Record<string, unknown>[];
  const upper = rows[0]?.[UPPER];
  if (typeof upper !== 'string' || upper === '') throw new Error(`incremental source "${resolve(knex, spec).name}": the database returned no clock value`);
  return upper;
}

/** The page after `after`, up to `upper`: exported so the SQL can be checked for dialects not at hand. */
export function incrementalPageQuery(knex: Knex, spec: IncrementalSpec, after: IncrementalCursor | undefined, upper: string): Knex.QueryBuilder {
  const r = resolve(knex, spec);
  const q = fromSource(knex, r);
  if (r.mode === 'rowversion') {
    q.select(knex.raw('??.*', ['q']), knex.raw('? as ??', [rowversionText(knex, r.column), RV]), knex.raw('?? as ??', [r.id, ID]));
    if (after) q.where(r.column, '>', rowversionBytes((after as RowversionCursor).rowversion));
    return q.where(r.column, '<', rowversionBytes(upper)).orderBy(r.column, 'asc').limit(r.pageSize);
  }
  q.select(knex.raw('??.*', ['q']), knex.raw('? as ??', [cursorText(knex, r.column, r.sqlType), TS]), knex.raw('?? as ??', [r.id, ID]));
  q.where(r.column, '<=', cursorValue(knex, upper, r.sqlType)).whereNotNull(r.id);
  if (after) {
    const a = after as TimestampCursor;
    if (a.id === undefined) {
      q.where(r.column, '>', cursorValue(knex, a.ts, r.sqlType));
    } else {
      // Same rows as (ts > last) OR (ts = last AND id > lastId); the leading `ts >= last` lets
      // the database range-scan an index on ts (or ts, id) in order and stop at the limit.
      q.where(r.column, '>=', cursorValue(knex, a.ts, r.sqlType))
        .where((w) => { w.where(r.column, '>', cursorValue(knex, a.ts, r.sqlType)).orWhere(r.id, '>', a.id as Knex.Value); });
    }
  }
  return q.orderBy(r.column, 'asc').orderBy(r.id, 'asc').limit(r.pageSize);
}

/** The stored cursor, checked against the mode (a changed spec must not be misread). */
function storedCursor(r: Resolved, value: unknown): IncrementalCursor | undefined {
  if (value === undefined || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (r.mode === 'rowversion') {
    if (typeof v === 'object' && isRowversionHex(v.rowversion)) return { rowversion: v.rowversion };
  } else if (typeof v === 'object' && typeof v.ts === 'string' && v.ts !== '' && (v.id === undefined || typeof v.id === 'string' || typeof v.id === 'number')) {
    return v.id === undefined ? { ts: v.ts } : { ts: v.ts, id: v.id };
  }
  const expected = r.mode === 'rowversion' ? '{ rowversion: "0x…" }' : '{ ts, id }';
  throw new Error(`incremental source "${r.name}": the stored cursor ${JSON.stringify(value)} is not a ${r.mode} cursor ${expected}; was cursor.kind changed? Reset this instance's cursor to start again`);
}

/** Rows the keyset can never reach, as row errors (named by id, never by content). */
async function nullRowErrors(knex: Knex, r: Resolved): Promise<RowError[]> {
  const errors: RowError[] = [];
  const ids = (await fromSource(knex, r).whereNull(r.column).whereNotNull(r.id).select(knex.raw('?? as ??', [r.id, ID])).limit(NULL_REPORT_LIMIT)) as Record<string, unknown>[];
  for (const row of ids) {
    errors.push({ rowKey: cellText(row[ID]) ?? '(null)', field: r.spec.cursor.column, message: `change column ${r.spec.cursor.column} is NULL: the row cannot be read incrementally until it has a value` });
  }
  if (r.mode === 'timestamp') {
    const n = await countWhere(knex, r, (q) => q.whereNull(r.id));
    if (n > 0) errors.push({ rowKey: '(null)', field: r.spec.idColumn, message: `${n} row(s) have a NULL ${r.spec.idColumn}: they cannot be read incrementally` });
  }
  return errors;
}

async function countWhere(knex: Knex, r: Resolved, where: (q: Knex.QueryBuilder) => Knex.QueryBuilder): Promise<number> {
  const rows = (await where(fromSource(knex, r)).count({ n: '*' })) as Array<{ n: number | string }>;
  return Number(rows[0]?.n ?? 0);
}

/**
 * "ponte connector check": the source is readable and every row is reachable by the keyset —
 * no NULL change column, no NULL id, and on SQLite change values in the text form the bound has.
 * Throws one error naming the source, the column and the count.
 */
export async function checkIncremental(knex: Knex, spec: IncrementalSpec): Promise<void> {
  const r = resolve(knex, spec);
  const problems: string[] = [];
  let nullTs: number, nullId: number;
  try {
    nullTs = await countWhere(knex, r, (q) => q.whereNull(r.column));
    nullId = await countWhere(knex, r, (q) => q.whereNull(r.id));
  } catch (e) {
    throw new Error(`incremental source "${r.name}": cannot read ${spec.cursor.column} and ${spec.idColumn}: ${(e as Error).message}`);
  }
  if (nullTs > 0) problems.push(`${nullTs} row(s) have NULL in cursor column "${spec.cursor.column}": keyset polling can never read them; make the column NOT NULL (or COALESCE it in the source query)`);
  if (nullId > 0) problems.push(`${nullId} row(s) have NULL in id column "${spec.idColumn}": the id must be unique and never NULL`);
  if (dialectOf(knex) === 'sqlite') {
    const bad = await countWhere(knex, r, (q) => q.whereNotNull(r.column).whereRaw(sqliteMalformedCursor(knex, r.column)));
    if (bad > 0) problems.push(`${bad} row(s) have a cursor column "${spec.cursor.column}" that is not 'YYYY-MM-DD HH:MM:SS[.fff]' text: SQLite compares it as text, so those rows would be read out of order or never`);
  }
  if (problems.length) throw new Error(`incremental source "${r.name}": ${problems.join('; ')}`);
}

/**
 * The changed rows since ctx.cursor, one Batch per page, each carrying the cursor after its last
 * row. Stopping early (crash, abort) loses nothing: the next run starts from the last cursor
 * the runner committed.
 */
export async function* pollIncremental(knex: Knex, spec: IncrementalSpec, ctx: IncrementalContext): AsyncGenerator<Batch<IncrementalCursor>> {
  const r = resolve(knex, spec);
  let after = storedCursor(r, ctx.cursor);
  // Fixed before the first read and kept for every page: each run reads a closed range.
  const upper = await readUpperBound(knex, spec);
  ctx.log.debug({ source: r.name, upper, after }, 'incremental poll bound');

  if (spec.reportNullRows ?? true) {
    const errors = await nullRowErrors(knex, r);
    if (errors.length) yield { events: [], errors, rowsRead: errors.length };
  }

  if (after === undefined && spec.startFrom === 'now') {
    // Everything up to the bound counts as history. Rowversion's bound is exclusive.
    yield { events: [], cursor: r.mode === 'rowversion' ? { rowversion: previousRowversion(upper) } : { ts: upper }, rowsRead: 0 };
    return;
  }

  let yielded = false;
  for (;;) {
    ctx.signal.throwIfAborted();
    const rows = (await incrementalPageQuery(knex, spec, after, upper)) as Record<string, unknown>[];
    if (rows.length === 0) break;
    const batch = toBatch(r, rows);
    after = batch.cursor;
    yielded = true;
    yield batch;
    if (rows.length < r.pageSize) break;
  }
  if (!yielded) yield { events: [], rowsRead: 0 };
}

function toBatch(r: Resolved, rows: Record<string, unknown>[]): Batch<IncrementalCursor> & Required<Pick<Batch, 'cancellations' | 'errors'>> {
  const batch: Batch<IncrementalCursor> & Required<Pick<Batch, 'cancellations' | 'errors'>> = { events: [], cancellations: [], errors: [], rowsRead: rows.length };
  for (const raw of rows) {
    const { [TS]: ts, [ID]: rawId, [RV]: rv, ...row } = raw;
    const id = cellText(rawId);
    if (id === undefined) {
      // Rowversion mode only: the timestamp keyset never reads a NULL id.
      batch.errors.push({ rowKey: '(null)', field: r.spec.idColumn, message: 'row without id' });
    } else {
      const out = r.spec.mapRow(row, id);
      if (out.events?.length) batch.events.push(...out.events);
      if (out.cancellations?.length) batch.cancellations.push(...out.cancellations);
      if (out.errors?.length) batch.errors.push(...out.errors);
    }
    if (r.mode === 'rowversion') {
      if (!isRowversionHex(rv)) throw new Error(`incremental source "${r.name}": ${r.spec.cursor.column} is not a rowversion (read ${String(rv)})`);
      batch.cursor = { rowversion: rv };
    } else {
      if (typeof ts !== 'string') throw new Error(`incremental source "${r.name}": cursor column ${r.spec.cursor.column} did not read as text`);
      batch.cursor = { ts, id: typeof rawId === 'number' ? rawId : String(rawId) };
    }
  }
  return batch;
}
