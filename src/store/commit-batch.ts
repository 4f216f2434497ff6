// One connector batch, committed atomically: new events and their deliveries, supersessions and
// cancellations, row errors and the connector's new cursor. A crash before COMMIT leaves nothing;
// a crash after leaves everything, and the next poll's duplicates are absorbed by the ledger.
import type { Knex } from 'knex';
import type { Cancellation, RowError } from '../connectors/contract.js';
import { FencedError, type Lease } from './lease.js';

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
  /** encodeEvents(knex, events), done ahead (while the previous batch commits); else done here. */
  encoded?: EncodedEvents | undefined;
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

/**
 * PostgreSQL: the whole batch in one statement — new events, their deliveries, and the entity
 * sets' supersessions — each table's rows as one JSON parameter read by json_to_recordset.
 * JSON.stringify is native: about half the client CPU of an array parameter per column, whose
 * elements node-postgres escapes one by one. One round trip, so a commit never waits for the
 * event loop between its parts while the next page is being checked; and no BEGIN and COMMIT
 * around it, a single statement being atomic by itself.
 * - The lease fence and the new cursor are the statement's first part (see fence below).
 * - Deliveries are written only for events actually inserted (ON CONFLICT skips the ledger's
 *   duplicates): they join the insert's RETURNING on the dedup key.
 * - The supersession sees the statement's snapshot, without this batch's own rows, which it
 *   keeps anyway. Its lookups are index probes per entity and per event, forced (OFFSET 0 keeps
 *   each lateral subquery apart, and the state test stays outside the deliveries probe): left to
 *   itself, the planner hashes every event of the instance, or reads every pending delivery, for
 *   each batch — a whole-ledger scan per batch, quadratic over a backfill.
 */
async function writePostgres(knex: Knex, input: CommitInput): Promise<Written> {
  const { now, instanceId } = input;
  const encoded = input.encoded ?? encodePostgres(input.events, input.cancellations);
  const ev = recordset(EVENT_JSON);
  const dl = recordset(DELIVERY_JSON);
  const list = (names: string[], prefix = '') => names.map((n) => `${prefix}${n}`).join(', ');
  // The fence: the connector's state row, updated only while the lease is ours; everything else
  // is written only if it was (a sub-statement reads another's RETURNING, never its effects).
  const fenced = input.cursor !== undefined || input.lease !== undefined;
  const gate = input.lease ? 'exists (select 1 from fence)' : 'true';
  const state = stateOf(input);
  const sql = `with ${fenced ? `fence as (
      update connector_state set ${Object.keys(state).map((c) => `${c} = ?`).join(', ')}
      where instance_id = ?${input.lease ? ' and lease_owner = ? and lease_epoch = ?' : ''} returning 1
    ), ` : ''}ev as (
      insert into events (instance_id, created_at, ${list(ev.names)}) select ?, ?, ${list(ev.names, 'x.')} from ${ev.sql}
      where ${gate}
      on conflict (instance_id, dedup_key) do nothing returning id, dedup_key
    ), dl as (
      insert into deliveries (event_id, state, attempts, polls, created_at, updated_at, next_attempt_at, ${list(dl.names.slice(2))})
      select ev.id, 'pending', 0, 0, ?, ?, greatest(coalesce(x.not_before, ?), ?), ${list(dl.names.slice(2), 'x.')}
      from ${dl.sql} join ev on ev.dedup_key = x.dedup_key
    ), sup as (
      update deliveries as d set state = 'cancelled', reason = t.reason, lease_token = null, lease_until = null, finished_at = ?, updated_at = ?
      from (
        select p.id, k.reason from json_to_recordset(?::json) as k(entity text, keys text[], reason text)
        cross join lateral (select id, dedup_key from events where instance_id = ? and entity = k.entity offset 0) as e
        cross join lateral (select id, state from deliveries where event_id = e.id offset 0) as p
        where e.dedup_key <> all(k.keys) and p.state = 'pending' and ${gate}
      ) as t
      where d.id = t.id
      returning 1
    )
    select (select count(*) from sup) as cancelled, (select coalesce(json_agg(dedup_key), '[]') from ev) as keys${input.lease ? ', (select count(*) from fence) as fence' : ''}`;
  const bindings = [
    ...(fenced ? [...Object.values(state), instanceId, ...(input.lease ? [input.lease.owner, input.lease.epoch] : [])] : []),
    instanceId, now, encoded.events, now, now, now, now, encoded.deliveries, now, now, encoded.sets, instanceId,
  ] as Knex.RawBinding[];
  const res = (await knex.raw(sql, bindings)) as { rows: [{ cancelled: string | number; keys: string[] | string; fence?: string | number }] };
  const row = res.rows[0];
  if (input.lease && Number(row.fence) !== 1) throw new FencedError(instanceId);
  const keys = (typeof row.keys === 'string' ? JSON.parse(row.keys) : row.keys) as string[];
  const typeOf = new Map(input.events.map((e) => [e.key, e.type]));
  return { insertedEvents: keys.map((key) => ({ key, type: typeOf.get(key)! })), cancelled: Number(row.cancelled) };
}

/** A batch as writePostgres's three JSON parameters. */
export interface EncodedEvents {
  readonly events: string;
  readonly deliveries: string;
  readonly sets: string;
}

/**
 * The batch's rows as the store will bind them, for a caller that can do it ahead, off the
 * commit's critical path (the runner, while the previous batch commits). Undefined where the
 * store does not use it (SQLite, SQL Server).
 */
export function encodeEvents(knex: Knex, events: NewEvent[], cancellations: Cancellation[]): EncodedEvents | undefined {
  return isPostgres(knex) ? encodePostgres(events, cancellations) : undefined;
}

function encodePostgres(all: NewEvent[], cancellations: Cancellation[]): EncodedEvents {
  const json = jsonMemo();
  // A key twice in one batch (callers other than prepareBatch do not dedupe): the first is
  // inserted, as ON CONFLICT would do, and only its deliveries may join it.
  const seen = new Set<string>();
  const events = all.filter((e) => !seen.has(e.key) && seen.add(e.key));
  const eventRows = events.map((e) => ({
    dedup_key: e.key, type: e.type, entity: e.entity ?? null, fiscal_code: e.fiscalCode, phone: e.phone ?? null, language: e.language ?? null,
    payload: JSON.stringify(e.data), not_before: e.notBefore ?? null, expires_at: e.expiresAt ?? null, route: json(e.route),
  }));
  const deliveryRows = events.flatMap((e) => e.deliveries.map((d) => ({
    dedup_key: e.key, not_before: e.notBefore ?? null, channel: d.channel, options: json(d.options), route_index: d.routeIndex, address: d.address, reason: d.reason ?? null,
  })));
  return { events: JSON.stringify(eventRows), deliveries: JSON.stringify(deliveryRows), sets: JSON.stringify(entitySets(events, cancellations)) };
}

/** Columns the JSON rows carry (the batch's constants are bound once). */
const EVENT_JSON: Record<string, string> = {
  dedup_key: 'text', type: 'text', entity: 'text', fiscal_code: 'text', phone: 'text', language: 'text',
  payload: 'text', not_before: 'bigint', expires_at: 'bigint', route: 'text',
};
const DELIVERY_JSON: Record<string, string> = {
  dedup_key: 'text', not_before: 'bigint', channel: 'text', options: 'text', route_index: 'integer', address: 'text', reason: 'text',
};

/** `json_to_recordset(?::json) as x(col type, …)`; the column names are written in (ours, not input). */
function recordset(types: Record<string, string>): { sql: string; names: string[] } {
  const names = Object.keys(types);
  return { sql: `json_to_recordset(?::json) as x(${names.map((c) => `${c} ${types[c]}`).join(', ')})`, names };
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
  let written: Written;
  if (isPostgres(knex)) {
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

function stateOf(input: CommitInput): Record<string, unknown> {
  return { updated_at: input.now, ...(input.cursor !== undefined ? { cursor: JSON.stringify(input.cursor) } : {}) };
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

type Written = Pick<CommitResult, 'insertedEvents' | 'cancelled'>;

/** SQLite, SQL Server: multi-row inserts sized to the driver, then the entity sets. */
async function writeRowByBatch(trx: Knex.Transaction, input: CommitInput): Promise<Written> {
  const { now, instanceId } = input;
  const json = jsonMemo();
  const rowsPerInsert = insertRows(trx);
  const insertedEvents: CommitResult['insertedEvents'] = [];
  for (const part of chunks(input.events, rowsPerInsert)) {
    const rows = part.map((e) => eventRow(e, instanceId, now, json));
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
function entitySets(events: NewEvent[], cancellations: Cancellation[]): Array<{ entity: string; keys: string[]; reason: string }> {
  const keep = new Map<string, { entity: string; keys: string[]; reason: string }>();
  for (const e of events) {
    if (!e.entity) continue;
    const s = keep.get(e.entity);
    if (s) s.keys.push(e.key);
    else keep.set(e.entity, { entity: e.entity, keys: [e.key], reason: `superseded by ${e.key}` });
  }
  for (const c of cancellations) keep.set(c.entity, { entity: c.entity, keys: [], reason: c.reason });
  return [...keep.values()];
}

/** writePostgres's supersession, in steps: the entities' events (index on instance_id, entity), then their pending deliveries. */
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
