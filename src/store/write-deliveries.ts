// Group commit for delivery state changes. The dispatcher writes two durable states per message
// (`sending` before the provider request, the outcome after it); written one statement each, the
// store's round trips cost more than the HTTP call they guard. Writes that arrive while a flush
// is running wait for the next one and go out together as ONE guarded UPDATE … FROM (VALUES …):
// each row still applies only where its claim token and expected state match (a process that lost
// its lease cannot overwrite newer work), and each caller learns whether its own row applied.
// A caller's promise resolves only after its row is committed, so `sending` is durable before the
// POST exactly as with a single write; only the number of statements changes.
import type { Knex } from 'knex';
import type { StoreDialect } from './db.js';
import { canTransition, TERMINAL_STATES, type DeliveryState } from './states.js';
import { LostLeaseError, type DeliveryPatch } from './update-delivery.js';

/** Columns a patch may set, with their PostgreSQL type (VALUES rows need typed placeholders). */
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
  /** Flushes running at once (PostgreSQL: on separate pooled connections; SQLite has one). */
  parallel?: number;
}

export class DeliveryWriter {
  private queue: Pending[] = [];
  private readonly flushing = new Set<Promise<void>>();
  private readonly inFlight = new Set<number>();
  private scheduled = false;
  private readonly maxBatch: number;
  private readonly parallel: number;
  /** Statements issued and rows written (tests, benchmarks). */
  readonly stats = { statements: 0, rows: 0 };

  constructor(private readonly knex: Knex, private readonly dialect: StoreDialect, opts: DeliveryWriterOptions = {}) {
    this.maxBatch = opts.maxBatch ?? 500;
    this.parallel = opts.parallel ?? (dialect === 'postgres' ? 3 : 1);
  }

  /** The guarded transition of updateDelivery(), committed with whatever else is waiting. */
  write(id: number, token: string, from: DeliveryState, patch: DeliveryPatch, now: number): Promise<void> {
    if (!canTransition(from, patch.state)) return Promise.reject(new Error(`delivery ${id}: illegal transition ${from} → ${patch.state}`));
    const { keepLease, ...fields } = patch;
    const row: Partial<Record<Column, unknown>> = { ...fields, updated_at: now };
    if (!keepLease) Object.assign(row, { lease_token: null, lease_until: null });
    if (TERMINAL_STATES.includes(patch.state)) row.finished_at = now;
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
    // Rows setting the same columns share one statement (usually all of a flush).
    const shapes = new Map<string, Pending[]>();
    for (const p of batch) {
      const key = Object.keys(p.row).sort().join(',');
      let group = shapes.get(key);
      if (!group) shapes.set(key, (group = []));
      group.push(p);
    }
    for (const group of shapes.values()) {
      let applied: Set<number>;
      try {
        applied = await this.update(group);
      } catch (e) {
        for (const p of group) p.reject(e);
        continue;
      }
      this.stats.statements++;
      this.stats.rows += group.length;
      for (const p of group) {
        if (applied.has(p.id)) p.resolve();
        else p.reject(new LostLeaseError(p.id));
      }
    }
  }

  /** One guarded UPDATE for rows of one shape; the ids it changed. */
  private async update(group: Pending[]): Promise<Set<number>> {
    const cols = (Object.keys(group[0]!.row) as Column[]).sort();
    if (this.dialect === 'mssql') return this.updateOneByOne(group, cols);
    const set = cols.map((c) => `${c} = v.${c}`).join(', ');
    let sql: string;
    let bindings: Knex.RawBinding[];
    if (this.dialect === 'postgres') {
      // One array per column: the statement's text and its parameter count stay the same whatever
      // the batch size, so PostgreSQL parses a few parameters instead of thousands.
      const types = ['bigint', 'text', 'text', ...cols.map((c) => COLUMNS[c])];
      const arrays: unknown[][] = types.map(() => []);
      for (const p of group) [p.id, p.token, p.from, ...cols.map((c) => p.row[c] ?? null)].forEach((v, i) => arrays[i]!.push(v));
      bindings = arrays as unknown as Knex.RawBinding[];
      const names = ['id', 'token', 'from_state', ...cols].join(', ');
      sql = `update deliveries as d set ${set} from unnest(${types.map((t) => `?::${t}[]`).join(', ')}) as v(${names}) where d.id = v.id and d.lease_token = v.token and d.state = v.from_state returning d.id`;
    } else {
      // SQLite: the rows as one JSON array, read by json_each: one short statement to compile
      // whatever the batch size (SQLite compiles every statement it is given, on this thread).
      bindings = [JSON.stringify(group.map((p) => [p.id, p.token, p.from, ...cols.map((c) => p.row[c] ?? null)]))];
      const fields = ['id', 'token', 'from_state', ...cols].map((c, i) => `value ->> ${i} as ${c}`).join(', ');
      sql = `update deliveries set ${set} from (select ${fields} from json_each(?)) as v where deliveries.id = v.id and deliveries.lease_token = v.token and deliveries.state = v.from_state returning deliveries.id`;
    }
    const result = (await this.knex.raw(sql, bindings)) as { rows?: Array<{ id: number }> } | Array<{ id: number }>;
    const rows = Array.isArray(result) ? result : (result.rows ?? []);
    return new Set(rows.map((r) => Number(r.id)));
  }

  /** SQL Server: the same guarded updates, in one transaction (not yet run on a live server). */
  private async updateOneByOne(group: Pending[], cols: Column[]): Promise<Set<number>> {
    const applied = new Set<number>();
    await this.knex.transaction(async (trx) => {
      for (const p of group) {
        const row = Object.fromEntries(cols.map((c) => [c, p.row[c] ?? null]));
        const n = await trx('deliveries').where({ id: p.id, lease_token: p.token, state: p.from }).update(row);
        if (n === 1) applied.add(p.id);
      }
    });
    return applied;
  }
}
