// Group commit for delivery state changes. The dispatcher writes two durable states per message
// (`sending` before the provider request, the outcome after it); written one statement each, the
// store's round trips cost more than the HTTP call they guard. Writes that arrive while a flush
// is running wait for the next one and go out together as ONE guarded UPDATE … FROM (the rows as
// one bulk parameter, see bulk-rows.ts), `sending`s and outcomes alike: each row still applies
// only where its claim token and expected state match (a process that lost its lease cannot
// overwrite newer work), and each caller learns whether its own row applied.
// A caller's promise resolves only after its row is committed, so `sending` is durable before the
// POST exactly as with a single write; only the number of statements changes. On SQLite a flush is
// one transaction of a statement per shape of write, and its wait for the disk is spent off Node's
// thread (sqlite-commit.ts).
import type { Store } from './db.js';
import type { DeliveryState } from './states.js';
import { LostLeaseError, transitionRow, type DeliveryPatch } from './update-delivery.js';
import { jsonEachRows, recordsetFrom, recordsetJson } from './bulk-rows.js';
import { queryRows } from './prepared.js';
import { commitDurably } from './sqlite-commit.js';
import { QueryTimeoutError } from './query-timeout.js';
import { attemptsJson, PG_INSERT_ATTEMPTS, type AttemptLog } from './attempts.js';

/** Columns a transition may set, with their PostgreSQL type (json_to_recordset needs them). */
const COLUMNS = {
  state: 'text',
  attempts: 'integer',
  polls: 'integer',
  next_attempt_at: 'bigint',
  provider_id: 'text',
  reason: 'text',
  last_error: 'text',
  sent_at: 'bigint',
  updated_at: 'bigint',
  finished_at: 'bigint',
  lease_token: 'text',
  lease_until: 'bigint',
} as const;
type Column = keyof typeof COLUMNS;

/** Set by every transition; the others only when the transition names them (bit i of the mask). */
const ALWAYS = ['state', 'updated_at'] as const;
const MASKED = (Object.keys(COLUMNS) as Column[]).filter((c) => !(ALWAYS as readonly string[]).includes(c));
const NAMES = ['id', 'token', 'from_state', 'mask', ...ALWAYS, ...MASKED];
const TYPES = ['bigint', 'text', 'text', 'integer', ...[...ALWAYS, ...MASKED].map((c) => COLUMNS[c])];

/** PostgreSQL: every column in SET, each masked one through CASE (the rows carry them all). */
function pgUpdateSql(byId: string): string {
  const set = [
    ...ALWAYS.map((c) => `${c} = v.${c}`),
    ...MASKED.map((c, i) => `${c} = case when (v.mask & ${1 << i}) <> 0 then v.${c} else d.${c} end`),
  ].join(', ');
  return `update deliveries as d set ${set} from v where d.id = v.id${byId} and d.lease_token = v.token and d.state = v.from_state returning d.id`;
}
// PostgreSQL plans json_to_recordset as 100 rows of unknown ids, and for a plain join it chose a
// hash join over a sequential scan of ALL deliveries: every flush read the whole ledger (2.7 ms at
// 10,000 rows, growing with it). `id = any(array(…))` makes the rows primary-key lookups.
const PG_ROWS = `v as materialized (select * from ${recordsetFrom('x', NAMES, TYPES)})`;
const PG_SET = pgUpdateSql(' and d.id = any(array(select v.id from v))');
const PG_UPDATE = `with ${PG_ROWS} ${PG_SET}`;
// The same, inserting the attempts log's waiting records too (a data-modifying WITH runs once,
// referenced or not): one statement and one commit for both, where the log's own INSERTs were a
// sixth of the dispatcher's statements; and the calls are committed with the next state change
// instead of up to 250 ms later.
const PG_UPDATE_AND_LOG = `with ${PG_ROWS}, a as (${PG_INSERT_ATTEMPTS}) ${PG_SET}`;
const sqliteUpdates = new Map<number, string>();
/** The flush statements (tests check their plans; SQLite's: the one for `sending`). */
export const WRITE_SQL = { postgres: PG_UPDATE, postgresWithAttempts: PG_UPDATE_AND_LOG, sqlite: sqliteUpdate(1 << MASKED.indexOf('attempts')) } as const;

/**
 * SQLite: the guarded UPDATE … FROM setting `state`, `updated_at` and the columns of `mask` alone,
 * from rows [id, token, from_state, state, updated_at, …those columns]. SQLite rewrites every index
 * over a column named in SET, whether its value changes or not, so the one statement of every
 * shape (all twelve columns, through CASE) cost a `sending` and its outcome 15.5 µs where one per
 * shape costs 9.9 (a side script, 20,000 deliveries, flushes of 32 of each).
 */
function sqliteUpdate(mask: number): string {
  let sql = sqliteUpdates.get(mask);
  if (sql === undefined) {
    const set = [...ALWAYS, ...MASKED.filter((_, i) => (mask & (1 << i)) !== 0)];
    sql = `update deliveries set ${set.map((c) => `${c} = v.${c}`).join(', ')} from (${jsonEachRows(['id', 'token', 'from_state', ...set], []).sql}) as v where deliveries.id = v.id and deliveries.lease_token = v.token and deliveries.state = v.from_state returning deliveries.id`;
    sqliteUpdates.set(mask, sql);
  }
  return sql;
}

interface Pending {
  id: number;
  token: string;
  from: DeliveryState;
  row: Partial<Record<Column, unknown>>;
  resolve: () => void;
  reject: (e: unknown) => void;
}

export interface DeliveryWriterOptions {
  /** Rows per statement at most (parameters per statement stay far below every store's limit). */
  maxBatch?: number;
  /**
   * Flushes running at once (SQLite has one connection). PostgreSQL: up to 8 on separate pooled
   * connections, leaving two of the pool to claims and everything else. More flushes in flight
   * let a `sending` start its statement sooner instead of queueing behind three (20 ms endpoint,
   * eight paired runs, 3 → 8: 1,210–1,290 → 1,265–1,296 messages/s, each pair won by 8; no
   * difference at 0 ms).
   */
  parallel?: number;
  /** PostgreSQL: the attempts log whose waiting records each flush inserts in its own statement. */
  attempts?: AttemptLog;
}

export class DeliveryWriter {
  private queue: Pending[] = [];
  private readonly flushing = new Set<Promise<void>>();
  private readonly inFlight = new Set<number>();
  private scheduled = false;
  private readonly maxBatch: number;
  private readonly parallel: number;
  private readonly attempts: AttemptLog | undefined;
  /**
   * Group commits made (PostgreSQL: one statement each; SQLite: one transaction), rows written, and
   * the most flushes that ran at once (tests, benchmarks).
   */
  readonly stats = { commits: 0, rows: 0, mostAtOnce: 0 };

  constructor(private readonly store: Store, opts: DeliveryWriterOptions = {}) {
    this.maxBatch = opts.maxBatch ?? 500;
    this.parallel = opts.parallel ?? (store.dialect === 'postgres' ? postgresParallel(store) : 1);
    this.attempts = store.dialect === 'postgres' ? opts.attempts : undefined;
  }

  /** The guarded transition of updateDelivery(), committed with whatever else is waiting. */
  write(id: number, token: string, from: DeliveryState, patch: DeliveryPatch, now: number): Promise<void> {
    let row: Partial<Record<Column, unknown>>;
    try {
      row = transitionRow(id, from, patch, now);
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ id, token, from, row, resolve, reject });
      this.schedule();
    });
  }

  /** Resolves once everything written so far is committed (or refused). */
  async settle(): Promise<void> {
    while (this.queue.length || this.flushing.size) {
      if (this.queue.length && this.flushing.size < this.parallel) this.flush();
      // Whatever flush() could not take (a second write of a delivery in flight) waits for one to end.
      if (this.flushing.size) await Promise.race(this.flushing);
    }
  }

  private schedule(): void {
    if (this.scheduled || this.flushing.size >= this.parallel) return;
    this.scheduled = true;
    // One turn of the event loop: writes made by the other workers in the same turn join in.
    // (A microtask instead made a statement per worker: SQLite's dispatch at 20 ms fell from
    // 0.85–0.92 to 0.51–0.63 of the bare loop; PostgreSQL's did not move.)
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    if (this.flushing.size >= this.parallel) return;
    const batch = this.take();
    if (batch.length === 0) return;
    for (const p of batch) this.inFlight.add(p.id);
    const f: Promise<void> = this.writeBatch(batch).finally(() => {
      for (const p of batch) this.inFlight.delete(p.id);
      this.flushing.delete(f);
      if (this.queue.length) this.schedule();
    });
    this.flushing.add(f);
    this.stats.mostAtOnce = Math.max(this.stats.mostAtOnce, this.flushing.size);
  }

  /** Up to maxBatch writes, at most one per delivery (a second write of one id waits its turn). */
  private take(): Pending[] {
    const seen = new Set<number>(this.inFlight);
    const batch: Pending[] = [];
    const rest: Pending[] = [];
    for (const p of this.queue) {
      if (batch.length < this.maxBatch && !seen.has(p.id)) {
        seen.add(p.id);
        batch.push(p);
      } else rest.push(p);
    }
    this.queue = rest;
    return batch;
  }

  private async writeBatch(batch: Pending[]): Promise<void> {
    let applied: Set<number>;
    try {
      applied = await this.update(batch);
    } catch (e) {
      for (const p of batch) p.reject(e);
      return;
    }
    this.stats.commits++;
    this.stats.rows += batch.length;
    for (const p of batch) {
      if (applied.has(p.id)) p.resolve();
      else p.reject(new LostLeaseError(p.id));
    }
  }

  /**
   * PostgreSQL: ONE guarded UPDATE for the whole flush, whatever each row sets: a row carries every
   * column and a bit mask of those it sets; the others keep their value (a statement per set of
   * columns would send a `sending` and an outcome, which arrive together, in two round trips).
   * SQLite, with no round trip to save: one statement per set of columns, in one transaction.
   * The ids it changed.
   */
  private async update(batch: Pending[]): Promise<Set<number>> {
    const { dialect } = this.store;
    if (dialect === 'mssql') return this.updateOneByOne(batch);
    if (dialect === 'sqlite') return this.updateByShape(batch);
    const rows = batch.map((p) => {
      let mask = 0;
      const values = MASKED.map((c, i) => {
        if (!(c in p.row)) return null;
        mask |= 1 << i;
        return p.row[c] ?? null;
      });
      return [p.id, p.token, p.from, mask, p.row.state, p.row.updated_at, ...values];
    });
    // The statements' text is built once (below the columns); only the rows' JSON is per flush.
    const logged = this.attempts?.take() ?? [];
    if (logged.length === 0) return ids(await queryRows<{ id: number }>(this.store, PG_UPDATE, [recordsetJson(rows)]));
    try {
      return ids(await queryRows<{ id: number }>(this.store, PG_UPDATE_AND_LOG, [recordsetJson(rows), attemptsJson(logged)]));
    } catch (e) {
      // Not written (or, cut at the query bound, perhaps written): the log writes them later, then
      // skipping any the statement did commit.
      this.attempts!.putBack(logged, undefined, e instanceof QueryTimeoutError);
      throw e;
    }
  }

  /** SQLite: the rows grouped by the columns they set, a statement per group, one commit (sqliteUpdate). */
  private async updateByShape(batch: Pending[]): Promise<Set<number>> {
    const shapes = new Map<number, unknown[][]>();
    for (const p of batch) {
      let mask = 0;
      const row: unknown[] = [p.id, p.token, p.from, p.row.state, p.row.updated_at];
      MASKED.forEach((c, i) => {
        if (!(c in p.row)) return;
        mask |= 1 << i;
        row.push(p.row[c] ?? null);
      });
      const rows = shapes.get(mask);
      if (rows) rows.push(row);
      else shapes.set(mask, [row]);
    }
    return commitDurably(this.store.knex, (db) => {
      const applied = new Set<number>();
      for (const [mask, rows] of shapes) {
        for (const r of db.prepare(sqliteUpdate(mask)).all(JSON.stringify(rows)) as Array<{ id: number }>) applied.add(Number(r.id));
      }
      return applied;
    });
  }

  /** SQL Server: updateDelivery() row by row, in one transaction (not yet run on a live server). */
  private async updateOneByOne(group: Pending[]): Promise<Set<number>> {
    const applied = new Set<number>();
    await this.store.knex.transaction(async (trx) => {
      for (const p of group) {
        const n = await trx('deliveries').where({ id: p.id, lease_token: p.token, state: p.from }).update(p.row);
        if (n === 1) applied.add(p.id);
      }
    });
    return applied;
  }
}

const ids = (rows: Array<{ id: number }>): Set<number> => new Set(rows.map((r) => Number(r.id)));

/**
 * Up to 8 flushes, two fewer than the pool's connections. The size is read from the live pool, not
 * the config: a config without `pool` gets knex's own default, which the config does not show.
 */
function postgresParallel(store: Store): number {
  const max = (store.knex.client as { pool?: { max?: number } }).pool?.max;
  return max === undefined ? 1 : Math.max(1, Math.min(8, max - 2));
}
