// One connector batch, committed atomically: new events and their deliveries, supersessions and
// cancellations, row errors and the connector's new cursor. A crash before COMMIT leaves nothing;
// a crash after leaves everything, and the next poll's duplicates are absorbed by the ledger.
import type { Knex } from 'knex';
import type { Cancellation } from '../connectors/contract.js';
import { FencedError } from './lease.js';
import { deliveryFields, entitySets, eventFields, jsonMemo, stateOf, type CommitInput, type CommitResult, type EncodedEvents, type NewDelivery, type NewEvent, type Written } from './batch.js';
import { storeDialect } from './db.js';
import { encodePostgres, writePostgres } from './commit-batch-postgres.js';

export type { CommitInput, CommitResult, NewDelivery, NewEvent } from './batch.js';

/**
 * Rows per multi-row INSERT (SQLite, SQL Server; PostgreSQL binds a batch as JSON): as many as the
 * driver's bound-parameter limit allows, since each statement is a round trip. SQL Server takes
 * 2100 parameters; events and deliveries rows have 12 columns each. knex writes a multi-row insert
 * on SQLite as one compound SELECT, which SQLite caps at 500 terms.
 */
function insertRows(knex: Knex): number {
  return storeDialect(knex) === 'mssql' ? Math.floor(2000 / 12) : 500;
}

/**
 * The batch's rows as the store will bind them, for a caller that can do it ahead, off the
 * commit's critical path (the runner, while the previous batch commits). Undefined where the
 * store does not use it (SQLite, SQL Server).
 */
export function encodeEvents(knex: Knex, events: NewEvent[], cancellations: Cancellation[]): EncodedEvents | undefined {
  return storeDialect(knex) === 'postgres' ? encodePostgres(events, cancellations) : undefined;
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export async function commitBatch(knex: Knex, input: CommitInput): Promise<CommitResult> {
  let written: Written;
  if (storeDialect(knex) === 'postgres') {
    // One statement is atomic by itself: a transaction only when row errors go with it.
    written = input.rowErrors.length === 0
      ? await writePostgres(knex, input)
      : await knex.transaction(async (trx) => {
        const w = await writePostgres(trx, input);
        await writeRowErrors(trx, input);
        return w;
      });
  } else {
    written = await knex.transaction(async (trx) => {
      const w = await writeRowByBatch(trx, input);
      await writeRowErrors(trx, input);
      // Last, so the row stays locked only for the commit: the cursor moves only while the lease
      // is still ours (same owner, same epoch), or the whole batch rolls back.
      if (input.cursor !== undefined || input.lease) {
        const n = await trx('connector_state').where({ instance_id: input.instanceId, ...fenceOf(input) }).update(stateOf(input));
        if (input.lease && n !== 1) throw new FencedError(input.instanceId);
      }
      return w;
    });
  }
  const { insertedEvents, cancelled } = written;
  return { insertedEvents, inserted: insertedEvents.length, duplicates: input.events.length - insertedEvents.length, cancelled };
}

function fenceOf(input: CommitInput): Record<string, unknown> {
  return input.lease ? { lease_owner: input.lease.owner, lease_epoch: input.lease.epoch } : {};
}

async function writeRowErrors(trx: Knex.Transaction, input: CommitInput): Promise<void> {
  const { now, instanceId } = input;
  for (const err of input.rowErrors) {
    await trx('row_errors')
      .insert({ instance_id: instanceId, row_key: err.rowKey, field: err.field ?? '', message: err.message, first_seen: now, last_seen: now, seen: 1 })
      .onConflict(['instance_id', 'row_key', 'field'])
      .merge({ message: err.message, last_seen: now, seen: trx.raw('row_errors.seen + 1') });
  }
}

/** SQLite, SQL Server: multi-row inserts sized to the driver, then the entity sets. */
async function writeRowByBatch(trx: Knex.Transaction, input: CommitInput): Promise<Written> {
  const { now, instanceId } = input;
  const json = jsonMemo();
  const rowsPerInsert = insertRows(trx);
  const insertedEvents: CommitResult['insertedEvents'] = [];
  for (const part of chunks(input.events, rowsPerInsert)) {
    const rows = part.map((e) => ({ ...eventFields(e, json), instance_id: instanceId, created_at: now }));
    const byKey = new Map(part.map((e) => [e.key, e]));
    // RETURNING yields only the rows actually inserted: duplicates are silently absorbed.
    const ids = (await trx('events').insert(rows).onConflict(['instance_id', 'dedup_key']).ignore().returning(['id', 'dedup_key'])) as { id: number; dedup_key: string }[];
    const deliveries = ids.flatMap(({ id, dedup_key }) => {
      const e = byKey.get(dedup_key)!;
      return e.deliveries.map((d) => deliveryRow(id, d, Math.max(e.notBefore ?? now, now), now, json));
    });
    for (const dpart of chunks(deliveries, rowsPerInsert)) await trx('deliveries').insert(dpart);
    for (const { dedup_key } of ids) insertedEvents.push({ key: dedup_key, type: byKey.get(dedup_key)!.type });
  }
  return { insertedEvents, cancelled: await supersede(trx, input) };
}

export function deliveryRow(eventId: number, d: NewDelivery, due: number, now: number, json: (v: unknown) => string = JSON.stringify) {
  return {
    event_id: eventId,
    ...deliveryFields(d, json),
    state: 'pending',
    attempts: 0,
    polls: 0,
    next_attempt_at: due,
    created_at: now,
    updated_at: now,
  };
}

/** The entity sets' supersession on SQLite and SQL Server: the entities' events (index on instance_id, entity), then their pending deliveries. */
async function supersede(trx: Knex.Transaction, input: CommitInput): Promise<number> {
  const keep = new Map(entitySets(input.events, input.cancellations).map((s) => [s.entity, { keys: new Set(s.keys), reason: s.reason }]));
  if (keep.size === 0) return 0;
  let cancelled = 0;
  for (const part of chunks([...keep.keys()], 500)) {
    const found = (await trx('events').where('instance_id', input.instanceId).whereIn('entity', part).select('id', 'entity', 'dedup_key')) as { id: number; entity: string; dedup_key: string }[];
    const byReason = new Map<string, number[]>();
    for (const e of found) {
      const set = keep.get(e.entity)!;
      if (set.keys.has(e.dedup_key)) continue;
      const ids = byReason.get(set.reason);
      if (ids) ids.push(e.id);
      else byReason.set(set.reason, [e.id]);
    }
    for (const [reason, eventIds] of byReason) {
      for (const ids of chunks(eventIds, 500)) {
        cancelled += await trx('deliveries').whereIn('event_id', ids).where('state', 'pending')
          .update({ state: 'cancelled', reason, lease_token: null, lease_until: null, finished_at: input.now, updated_at: input.now });
      }
    }
  }
  return cancelled;
}
