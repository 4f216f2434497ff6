// The run of an 'incremental' SQL connector: rows changed since the last run, read by a compound
// keyset cursor (change column, key) — the pitfalls this defeats are in docs/connectors.md:
// - ties: rows sharing one change time across a page boundary are neither skipped nor repeated,
//   because the cursor is (ts, id) and pages are `ts > last OR (ts = last AND id > lastId)`;
// - late commits: the upper bound is the DATABASE clock minus `lagSeconds`, fixed once before
//   reading, so a row stamped earlier but committed late is read on the next run, not skipped;
// - precision: the cursor is the column's own text (microseconds, SQL Server's 100 ns) and is
//   compared back in SQL, never through a JS Date (which keeps milliseconds only);
// - crashes: every page is one batch whose cursor is committed with its events;
// - NULLs: a NULL change time can never be read by a cursor, so it is reported at the start.
import type { Knex } from 'knex';
import type { Batch, PollContext } from '../contract.js';
import type { RowVerdict } from './window-poll.js';
import { dialectOf, selectLocalDateTime } from './source.js';
import { instantToWallTime } from '../../util/local-time.js';
import { cellText } from './rows.js';
import { withRowsTotal } from '../progress.js';
import { nextTurn, SLICE } from '../../util/next-turn.js';

/**
 * The position after the last committed row: the change column as the database's own text, and
 * the key. Without `id` (a starting point set by `startFrom: now`), everything after `ts` is new.
 */
export interface ChangeCursor {
  ts: string;
  id?: string;
}

export interface ChangesPollSpec {
  knex: Knex;
  /** The rows, with every column the verdict needs (no order, no limit). */
  source(): Knex.QueryBuilder;
  /** Change column and key, as written in that query (e.g. "q.aggiornata_il", "q.id"). */
  tsColumn: string;
  idColumn: string;
  /** The zone the change column's wall times are in. */
  timeZone: string;
  lagSeconds: number;
  pageSize: number;
  verdict(row: Record<string, unknown>, id: string): RowVerdict;
  /** Where the rows come from, for error messages. */
  describe: string;
  /**
   * SQL Server only: the cursor is a `rowversion` column (tsColumn), unique and monotonic, read
   * below MIN_ACTIVE_ROWVERSION() — the safe bound there ("with @@DBTS it is possible to miss
   * changes that are active"); no key tiebreak and no lag are needed.
   */
  mode?: 'timestamp' | 'rowversion';
  /**
   * The first run (no cursor yet): 'beginning' reads the whole table (every existing row becomes
   * an event); 'now' (the default) only records where to start, so going live does not notify
   * the table's whole history.
   */
  startFrom?: 'beginning' | 'now';
}

const CURSOR_TS = '__cursor_ts';

/** A cursor text as a value of the column's type, at full precision. */
export function cursorValue(knex: Knex, text: string): Knex.Raw {
  switch (dialectOf(knex)) {
    case 'pg': return knex.raw('CAST(? AS timestamp)', [text]);
    case 'mysql': return knex.raw('CAST(? AS DATETIME(6))', [text]);
    case 'mssql': return knex.raw('CONVERT(datetime2(7), ?, 126)', [text]);
    case 'sqlite': return knex.raw('?', [text]);
  }
}

/** The database's clock (epoch ms), so that app and database clocks never need to agree. */
export async function databaseNow(knex: Knex): Promise<number> {
  const sql = {
    pg: 'select extract(epoch from clock_timestamp()) * 1000 as ms',
    mysql: 'select UNIX_TIMESTAMP(NOW(6)) * 1000 as ms',
    mssql: "select DATEDIFF_BIG(millisecond, '1970-01-01', SYSUTCDATETIME()) as ms",
    sqlite: "select (julianday('now') - 2440587.5) * 86400000.0 as ms",
  }[dialectOf(knex)];
  const res = (await knex.raw(sql)) as unknown;
  const rows = (Array.isArray(res) ? (Array.isArray(res[0]) ? res[0] : res) : (res as { rows: unknown[] }).rows) as { ms: unknown }[];
  return Math.floor(Number(rows[0]!.ms));
}

const CURSOR_RV = '__cursor_rv';

/** MIN_ACTIVE_ROWVERSION() as 0x… text, read once per run so every page has the same bound. */
export async function minActiveRowversion(knex: Knex): Promise<string> {
  const rows = (await knex.raw('SELECT CONVERT(varchar(18), MIN_ACTIVE_ROWVERSION(), 1) as rv')) as { rv: string }[];
  return String(rows[0]!.rv);
}

/** SQL Server rowversion page: `rv > cursor AND rv < bound` (MIN_ACTIVE_ROWVERSION() read before), cursor as 0x… hex text. */
export function rowversionPage(spec: Pick<ChangesPollSpec, 'knex' | 'source' | 'tsColumn' | 'pageSize'>, upper: string, cursor: ChangeCursor | undefined): Knex.QueryBuilder {
  return rowversionRange(spec, upper, cursor).orderBy(spec.tsColumn, 'asc').limit(spec.pageSize);
}

function rowversionRange(spec: Pick<ChangesPollSpec, 'knex' | 'source' | 'tsColumn'>, upper: string, cursor: ChangeCursor | undefined): Knex.QueryBuilder {
  const { knex, tsColumn } = spec;
  const q = spec.source()
    .select(knex.raw('CONVERT(varchar(18), ??, 1) as ??', [tsColumn, CURSOR_RV]))
    .whereRaw('?? < CONVERT(binary(8), ?, 1)', [tsColumn, upper]);
  if (cursor) q.andWhereRaw('?? > CONVERT(binary(8), ?, 1)', [tsColumn, cursor.ts]);
  return q;
}

/**
 * A wall time with microseconds, in the form each database compares best: SQL Server's style 126
 * wants the "T"; SQLite compares text, where "…:02" would sort before "…:02.000000".
 */
export function boundText(knex: Knex, epochMs: number, zone: string): string {
  const text = `${instantToWallTime(new Date(epochMs), zone)}.${String(((epochMs % 1000) + 1000) % 1000).padStart(3, '0')}000`;
  return dialectOf(knex) === 'mssql' ? text.replace(' ', 'T') : text;
}

/** The keyset page after `cursor`, bounded above by `upper` (a wall-time text). */
export function changesPage(spec: Pick<ChangesPollSpec, 'knex' | 'source' | 'tsColumn' | 'idColumn' | 'pageSize'>, upper: string, cursor: ChangeCursor | undefined): Knex.QueryBuilder {
  const { tsColumn, idColumn } = spec;
  return changesRange(spec, upper, cursor).orderBy([{ column: tsColumn, order: 'asc' }, { column: idColumn, order: 'asc' }]).limit(spec.pageSize);
}

/** Every row after `cursor` up to `upper`, unordered (the page query without ORDER BY and LIMIT). */
function changesRange(spec: Pick<ChangesPollSpec, 'knex' | 'source' | 'tsColumn' | 'idColumn'>, upper: string, cursor: ChangeCursor | undefined): Knex.QueryBuilder {
  const { knex, tsColumn, idColumn } = spec;
  const q = spec.source()
    .select(selectLocalDateTime(knex, tsColumn, CURSOR_TS))
    .where(tsColumn, '<=', cursorValue(knex, upper));
  if (cursor?.id === undefined && cursor) q.andWhere(tsColumn, '>', cursorValue(knex, cursor.ts));
  else if (cursor) {
    const id = cursor.id!;
    // `ts >= cursor` is implied by the OR below, but only it gives the index scan a start: without
    // it each page scans from the oldest row and filters, so a backfill grows quadratic.
    q.andWhere(tsColumn, '>=', cursorValue(knex, cursor.ts));
    q.andWhere((w) => w.where(tsColumn, '>', cursorValue(knex, cursor.ts))
      .orWhere((t) => t.where(tsColumn, '=', cursorValue(knex, cursor.ts)).andWhere(idColumn, '>', id)));
  }
  return q;
}

/**
 * How many rows this run will read (for progress: rows left, time left). Counted only when the
 * first page came back full — a backfill or a long catch-up — so an ordinary small poll pays nothing.
 */
async function rowsInRun(spec: ChangesPollSpec, upper: string, start: ChangeCursor | undefined): Promise<number | undefined> {
  const range = spec.mode === 'rowversion' ? rowversionRange(spec, upper, start) : changesRange(spec, upper, start);
  try {
    const row = (await spec.knex.count({ n: '*' }).from(range.as('run_rows')).first()) as { n: unknown } | undefined;
    return row ? Number(row.n) : undefined;
  } catch {
    return undefined; // progress without a total is still progress
  }
}

export async function* pollChanges(spec: ChangesPollSpec, ctx: PollContext<unknown, ChangeCursor>): AsyncGenerator<Batch<ChangeCursor>> {
  const { knex } = spec;
  const rowversion = spec.mode === 'rowversion';
  if (rowversion && dialectOf(knex) !== 'mssql') throw new Error(`${spec.describe}: the rowversion cursor exists only on SQL Server`);
  const nulls = rowversion ? { n: 0 } : await spec.source().clearSelect().count({ n: '*' }).whereNull(spec.tsColumn).first();
  if (Number(nulls?.n ?? 0) > 0) {
    throw new Error(`${spec.describe}: ${Number(nulls!.n)} row(s) have a NULL ${spec.tsColumn.replace(/^q\./, '')}; an incremental cursor can never read them — fill the column (or make it NOT NULL) in the back-office`);
  }
  // Fixed once, before reading: the same bound for every page of this run.
  const upper = rowversion ? await minActiveRowversion(knex) : boundText(knex, (await databaseNow(knex)) - spec.lagSeconds * 1000, spec.timeZone);
  let cursor = ctx.cursor;
  if (cursor === undefined && (spec.startFrom ?? 'now') === 'now') {
    // Going live: remember where "now" is; only changes after it are events.
    yield { events: [], rowsRead: 0, cursor: { ts: upper } };
    return;
  }
  let yielded = false;
  const start = cursor;
  // Memory stays bounded by one page: each page is yielded (and committed by the runner) before
  // the next is read, and nothing accumulates across pages.
  for (;;) {
    ctx.signal.throwIfAborted();
    const rows = (await (rowversion ? rowversionPage(spec, upper, cursor) : changesPage(spec, upper, cursor))) as Record<string, unknown>[];
    if (rows.length === 0) break;
    const total = !yielded && rows.length === spec.pageSize ? await rowsInRun(spec, upper, start) : undefined;
    const batch: Batch<ChangeCursor> & Required<Pick<Batch, 'events' | 'cancellations' | 'errors'>> = { events: [], cancellations: [], errors: [], rowsRead: rows.length };
    for (let i = 0; i < rows.length; i++) {
      if (i % SLICE === SLICE - 1) await nextTurn();
      const row = rows[i]!;
      const id = cellText(row.id)!;
      const v = spec.verdict(row, id);
      if (v.errors?.length) batch.errors.push(...v.errors);
      if (v.events?.length) batch.events.push(...v.events);
      else if (v.cancel) batch.cancellations.push({ entity: v.entity ?? id, reason: v.cancel });
    }
    const last = rows[rows.length - 1]!;
    cursor = { ts: String(last[rowversion ? CURSOR_RV : CURSOR_TS]), id: cellText(last.id)! };
    batch.cursor = cursor;
    withRowsTotal(batch, total);
    yielded = true;
    yield batch;
    if (rows.length < spec.pageSize) break;
  }
  if (!yielded) yield { events: [], rowsRead: 0 };
}
