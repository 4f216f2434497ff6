// One connector batch, committed atomically: new events and their deliveries, supersessions and
// cancellations, row errors and the connector's new cursor. A crash before COMMIT leaves nothing;
// a crash after leaves everything, and the next poll's duplicates are absorbed by the ledger.
import type { Knex } from 'knex';
import type { Cancellation, RowError } from '../connectors/contract.js';
import { assertFence, type Lease } from './lease.js';

export interface NewDelivery {
  channel: string;
  options: Record<string, unknown>;
  /** Position of this channel in the event's route. */
  routeIndex: number;
  /** Channel address (WhatsApp: E.164), when the channel has one. */
  address: string | null;
  /** Why this delivery exists when it is not the first choice (routing decision). */
  reason?: string;
}

export interface NewEvent {
  key: string;
  type: string;
  entity?: string;
  fiscalCode: string;
  phone?: string;
  language?: string;
  data: Record<string, unknown>;
  notBefore?: number;
  expiresAt?: number;
  /** The route, stored with the event (see src/connectors/routing.ts). */
  route: unknown;
  deliveries: NewDelivery[];
}

export interface CommitInput {
  instanceId: string;
  /** Required for real runs: the commit fails (FencedError) if the lease was lost. */
  lease?: Lease;
  events: NewEvent[];
  cancellations: Cancellation[];
  rowErrors: RowError[];
  /** undefined keeps the stored cursor. */
  cursor?: unknown;
  now: number;
}

export interface CommitResult {
  /** The events this batch stored (new to the ledger), for the log. */
  insertedEvents: Array<{ key: string; type: string }>;
  inserted: number;
  duplicates: number;
  cancelled: number;
}

const CHUNK = 200;

/**
 * Rows per multi-row INSERT: as many as the driver's bound-parameter limit allows, since each
 * statement is a round trip (a backfill commits a million rows). SQL Server takes 2100 parameters,
 * PostgreSQL 65535, SQLite 32766; events and deliveries rows have 12 columns each. knex writes a
 * multi-row insert on SQLite as one compound SELECT, which SQLite caps at 500 terms.
 */
function insertRows(knex: Knex): number {
  const client = String(knex.client.config.client);
  if (client === 'mssql') return Math.floor(2000 / 12);
  if (client === 'sqlite3' || client === 'better-sqlite3') return 500;
  return 1000;
}

function isPostgres(knex: Knex): boolean {
  return ['pg', 'postgres', 'postgresql'].includes(String(knex.client.config.client));
}

const EVENT_TYPES: Record<string, string> = {
  dedup_key: 'text', instance_id: 'text', type: 'text', entity: 'text', fiscal_code: 'text', phone: 'text', language: 'text',
  payload: 'text', not_before: 'bigint', expires_at: 'bigint', route: 'text', created_at: 'bigint',
};
const DELIVERY_TYPES: Record<string, string> = {
  event_id: 'bigint', channel: 'text', options: 'text', route_index: 'integer', address: 'text', reason: 'text', state: 'text',
  attempts: 'integer', polls: 'integer', next_attempt_at: 'bigint', created_at: 'bigint', updated_at: 'bigint',
};

/** `json_to_recordset(?::json) as x(col type, …)` with its bindings (the column names). */
function recordset(types: Record<string, string>): { sql: string; names: string[] } {
  const names = Object.keys(types);
  return { sql: `json_to_recordset(?::json) as x(${names.map((c) => `?? ${types[c]}`).join(', ')})`, names };
}

/**
 * PostgreSQL: the events and their deliveries in one statement, each table's rows as one JSON
 * parameter read by json_to_recordset. JSON.stringify is native: about half the client CPU of an
 * array parameter per column, whose elements node-postgres escapes one by one, and less server
 * time too; and one round trip per batch, not two plus the event ids coming back. Deliveries are
 * written only for the events actually inserted (ON CONFLICT skips the ledger's duplicates).
 * Returns the dedup keys of the inserted events.
 */
async function insertEventsWithDeliveries(trx: Knex.Transaction, events: Array<Record<string, unknown>>, deliveries: Array<Record<string, unknown>>): Promise<string[]> {
  if (events.length === 0) return [];
  const ev = recordset(EVENT_TYPES);
  const dl = recordset({ dedup_key: 'text', ...DELIVERY_TYPES });
  const dcols = dl.names.slice(2); // without dedup_key and event_id
  const list = (names: string[]) => names.map(() => '??').join(', ');
  const sql = `with ev as (
      insert into events (${list(ev.names)}) select ${list(ev.names)} from ${ev.sql}
      on conflict (instance_id, dedup_key) do nothing returning id, dedup_key
    ), dl as (
      insert into deliveries (event_id, ${list(dcols)}) select ev.id, ${dcols.map(() => 'x.??').join(', ')}
      from ${dl.sql} join ev on ev.dedup_key = x.dedup_key
    )
    select dedup_key from ev`;
  const bindings = [...ev.names, ...ev.names, JSON.stringify(events), ...ev.names, ...dcols, ...dcols, JSON.stringify(deliveries), ...dl.names];
  const res = (await trx.raw(sql, bindings)) as { rows: { dedup_key: string }[] };
  return res.rows.map((r) => r.dedup_key);
}

/** JSON text of objects a batch shares between its rows (one route per event type), built once. */
function jsonMemo(): (value: unknown) => string {
  const texts = new WeakMap<object, string>();
  return (value) => {
    if (typeof value !== 'object' || value === null) return JSON.stringify(value);
    let text = texts.get(value);
    if (text === undefined) texts.set(value, (text = JSON.stringify(value)));
    return text;
  };
}

function eventRow(e: NewEvent, instanceId: string, now: number, json: (v: unknown) => string) {
  return {
    dedup_key: e.key,
    instance_id: instanceId,
    type: e.type,
    entity: e.entity ?? null,
    fiscal_code: e.fiscalCode,
    phone: e.phone ?? null,
    language: e.language ?? null,
    payload: JSON.stringify(e.data),
    not_before: e.notBefore ?? null,
    expires_at: e.expiresAt ?? null,
    route: json(e.route),
    created_at: now,
  };
}

function chunks<T>(items: T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export async function commitBatch(knex: Knex, input: CommitInput): Promise<CommitResult> {
  return knex.transaction(async (trx) => {
    const { now, instanceId } = input;
    if (input.lease) await assertFence(trx, input.lease, now);

    const json = jsonMemo();
    const pg = isPostgres(trx);
    const rowsPerInsert = pg ? 5000 : insertRows(trx);
    const insertedEvents: CommitResult['insertedEvents'] = [];
    for (const part of chunks(input.events, rowsPerInsert)) {
      const rows = part.map((e) => eventRow(e, instanceId, now, json));
      const byKey = new Map(part.map((e) => [e.key, e]));
      let keys: string[];
      if (pg) {
        keys = await insertEventsWithDeliveries(trx, rows, part.flatMap((e) => e.deliveries.map((d) => ({ dedup_key: e.key, ...deliveryRow(0, d, Math.max(e.notBefore ?? now, now), now, json) }))));
      } else {
        // RETURNING yields only the rows actually inserted: duplicates are silently absorbed.
        const ids = (await trx('events').insert(rows).onConflict(['instance_id', 'dedup_key']).ignore().returning(['id', 'dedup_key'])) as { id: number; dedup_key: string }[];
        const deliveries = ids.flatMap(({ id, dedup_key }) => {
          const e = byKey.get(dedup_key)!;
          return e.deliveries.map((d) => deliveryRow(id, d, Math.max(e.notBefore ?? now, now), now, json));
        });
        for (const dpart of chunks(deliveries, rowsPerInsert)) await trx('deliveries').insert(dpart);
        keys = ids.map((r) => r.dedup_key);
      }
      for (const key of keys) insertedEvents.push({ key, type: byKey.get(key)!.type });
    }
    const inserted = insertedEvents.length;

    const cancelled = await supersede(trx, input);

    for (const err of input.rowErrors) {
      await trx('row_errors')
        .insert({ instance_id: instanceId, row_key: err.rowKey, field: err.field ?? '', message: err.message, first_seen: now, last_seen: now, seen: 1 })
        .onConflict(['instance_id', 'row_key', 'field'])
        .merge({ message: err.message, last_seen: now, seen: trx.raw('row_errors.seen + 1') });
    }

    if (input.cursor !== undefined || input.lease) {
      const patch: Record<string, unknown> = { updated_at: now };
      if (input.cursor !== undefined) patch.cursor = JSON.stringify(input.cursor);
      await trx('connector_state').where({ instance_id: instanceId }).update(patch);
    }
    return { insertedEvents, inserted, duplicates: input.events.length - inserted, cancelled };
  });
}

export function deliveryRow(eventId: number, d: NewDelivery, due: number, now: number, json: (v: unknown) => string = JSON.stringify) {
  return {
    event_id: eventId,
    channel: d.channel,
    options: json(d.options),
    route_index: d.routeIndex,
    address: d.address,
    reason: d.reason ?? null,
    state: 'pending',
    attempts: 0,
    polls: 0,
    next_attempt_at: due,
    created_at: now,
    updated_at: now,
  };
}

/**
 * Entity sets: the events a batch emits for an entity are its complete current set, so pending
 * deliveries of that entity's other events are superseded; an explicit cancellation empties the set.
 */
async function supersede(trx: Knex.Transaction, input: CommitInput): Promise<number> {
  const keep = new Map<string, { keys: Set<string>; reason: string }>();
  for (const e of input.events) {
    if (!e.entity) continue;
    const s = keep.get(e.entity) ?? { keys: new Set<string>(), reason: `superseded by ${e.key}` };
    s.keys.add(e.key);
    keep.set(e.entity, s);
  }
  for (const c of input.cancellations) keep.set(c.entity, { keys: new Set(), reason: c.reason });
  if (keep.size === 0) return 0;

  let cancelled = 0;
  const pg = isPostgres(trx);
  for (const part of pg ? [[...keep.keys()]] : chunks([...keep.keys()], 500)) {
    // The entities' events first (index on instance_id, entity): in a backfill every entity is
    // new and its only events are this batch's own, so nothing is left to look for in deliveries.
    // PostgreSQL: one index probe per entity, forced (OFFSET 0 keeps the lateral subquery apart).
    // Left to itself, the planner hashes or scans every event of the instance for a batch of a
    // thousand entities — a whole-ledger scan per batch, quadratic over a backfill.
    const found = pg
      ? ((await trx.raw(
        'select e.id, e.entity, e.dedup_key from unnest(?::text[]) as x(entity) cross join lateral (select id, entity, dedup_key from events where instance_id = ? and entity = x.entity offset 0) as e',
        [part, input.instanceId] as Knex.RawBinding[],
      )) as { rows: unknown[] }).rows
      : await trx('events').where('instance_id', input.instanceId).whereIn('entity', part).select('id', 'entity', 'dedup_key');
    const others = (found as { id: number; entity: string; dedup_key: string }[])
      .filter((e) => !keep.get(e.entity)!.keys.has(e.dedup_key));
    const byReason = new Map<string, number[]>();
    for (const e of others) {
      const reason = keep.get(e.entity)!.reason;
      const ids = byReason.get(reason);
      if (ids) ids.push(e.id);
      else byReason.set(reason, [e.id]);
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
