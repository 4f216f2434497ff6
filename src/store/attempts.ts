// The attempts log: every provider call made for a delivery, for "what happened and why".
import type { Knex } from 'knex';
import type { Store } from './db.js';
import { jsonEachRows, recordsetFrom, recordsetJson } from './bulk-rows.js';
import { queryRows } from './prepared.js';
import { isUnreachable } from './outage.js';
import { QueryTimeoutError } from './query-timeout.js';

export interface AttemptRecord {
  deliveryId: number;
  kind: 'check' | 'send' | 'status';
  startedAt: number;
  durationMs: number;
  outcome: string;
  httpStatus?: number;
  error?: string;
}

function attemptRow(a: AttemptRecord) {
  return {
    delivery_id: a.deliveryId,
    kind: a.kind,
    started_at: a.startedAt,
    duration_ms: Math.round(a.durationMs),
    outcome: a.outcome,
    http_status: a.httpStatus ?? null,
    error: a.error ?? null,
  };
}

/** One attempt, written now (tools and tests; the dispatcher uses the batched AttemptLog). */
export async function logAttempt(knex: Knex, a: AttemptRecord): Promise<void> {
  await knex('delivery_attempts').insert(attemptRow(a));
}

/**
 * The attempts log written in batches: one INSERT for many provider calls instead of one each, off
 * the per-message path. Flushed when full, after a short delay, and at the end of every dispatcher
 * pass; a crash loses at most the last fraction of a second of history, never a delivery's state.
 * On PostgreSQL the dispatcher's group commits take the waiting records first (DeliveryWriter), so
 * they are committed with the state change that follows them and this rarely writes by itself.
 */
export class AttemptLog {
  private buffer: AttemptRecord[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly store: Store, private readonly maxBatch = 200, private readonly maxDelayMs = 250) {}

  /**
   * Takes every buffered record, to be written by someone else's statement (the PostgreSQL
   * DeliveryWriter inserts them in its group commit); putBack() returns them if that failed.
   */
  take(): AttemptRecord[] {
    clearTimeout(this.timer);
    this.timer = undefined;
    const taken = this.buffer.splice(0);
    // Records a statement may have written already stay here, for flush()'s insert that skips them.
    if (this.maybeWritten.size) {
      this.buffer = taken.filter((a) => this.maybeWritten.has(a));
      if (this.buffer.length) this.timer = setTimeout(() => { void this.flush(); }, this.maxDelayMs);
      return taken.filter((a) => !this.maybeWritten.has(a));
    }
    return taken;
  }

  /**
   * Returns records a statement did not write. `unknown`: the statement's fate is unknown (it was
   * cut at store.queryTimeoutSeconds and may have committed on the server): they are written again
   * only where the log does not have them yet, or the log would show those calls twice.
   */
  putBack(records: AttemptRecord[], delayMs = this.maxDelayMs, unknown = false): void {
    if (records.length === 0) return;
    if (unknown) for (const a of records) this.maybeWritten.add(a);
    this.buffer.unshift(...records);
    this.timer ??= setTimeout(() => { void this.flush(); }, delayMs);
  }

  private forget(rows: readonly AttemptRecord[]): void {
    if (this.maybeWritten.size) for (const a of rows) this.maybeWritten.delete(a);
  }

  /** Put back after a statement whose fate is unknown (see putBack). */
  private readonly maybeWritten = new Set<AttemptRecord>();

  add(a: AttemptRecord): void {
    this.buffer.push(a);
    if (this.buffer.length >= this.maxBatch) void this.flush();
    else this.timer ??= setTimeout(() => { void this.flush(); }, this.maxDelayMs);
  }

  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const rows = this.buffer.splice(0);
    if (rows.length === 0) return this.writing;
    // Kept while the store cannot be reached (the dispatcher stops claiming then, so they do not
    // pile up); dropped on any other error, as a statement the store refuses would be refused again.
    this.writing = this.writing.then(() => this.insert(rows)).then(() => this.forget(rows), (e: unknown) => {
      if (isUnreachable(e)) this.putBack(rows, RETRY_MS, e instanceof QueryTimeoutError);
      else this.forget(rows);
    });
    return this.writing;
  }

  private async insert(records: AttemptRecord[]): Promise<void> {
    const { knex, dialect } = this.store;
    if (dialect === 'mssql') {
      await knex('delivery_attempts').insert(records.map(attemptRow));
      return;
    }
    // One statement whatever the count, the rows as one bulk parameter (see bulk-rows.ts).
    if (dialect === 'postgres') {
      const unsure = records.some((a) => this.maybeWritten.has(a));
      return void await queryRows(this.store, unsure ? PG_INSERT_ATTEMPTS_NEW : PG_INSERT_ATTEMPTS, [attemptsJson(records)]);
    }
    const { sql, bindings } = jsonEachRows(COLUMNS, records.map(attemptTuple));
    await queryRows(this.store, `insert into delivery_attempts (${COLUMNS.join(', ')}) ${sql}`, bindings);
  }
}

/** A flush the store could not take is tried again this much later. */
const RETRY_MS = 2_000;

const COLUMNS = ['delivery_id', 'kind', 'started_at', 'duration_ms', 'outcome', 'http_status', 'error'] as const;
const TYPES = ['bigint', 'text', 'bigint', 'integer', 'text', 'integer', 'text'];
/**
 * PostgreSQL: the INSERT of attemptsJson(records), its one parameter. The log runs it alone; the
 * DeliveryWriter runs it inside its group commit (a data-modifying WITH).
 */
export const PG_INSERT_ATTEMPTS = `insert into delivery_attempts (${COLUMNS.join(', ')}) select * from ${recordsetFrom('attempt', COLUMNS, TYPES)}`;

/**
 * The same, skipping the records the log already has (same delivery, kind and start): for those
 * put back after a statement that may have committed (AttemptLog.putBack's `unknown`).
 */
export const PG_INSERT_ATTEMPTS_NEW = `insert into delivery_attempts (${COLUMNS.join(', ')}) select * from ${recordsetFrom('attempt', COLUMNS, TYPES)}
  where not exists (select 1 from delivery_attempts d where d.delivery_id = attempt.delivery_id and d.kind = attempt.kind and d.started_at = attempt.started_at)`;

/** PG_INSERT_ATTEMPTS' parameter: the records as recordsetJson rows. */
export function attemptsJson(records: readonly AttemptRecord[]): string {
  return recordsetJson(records.map(attemptTuple));
}

/** A record's values in COLUMNS order: the bulk rows of PostgreSQL and SQLite. */
function attemptTuple(a: AttemptRecord): unknown[] {
  const r = attemptRow(a);
  return COLUMNS.map((c) => r[c]);
}
