// The PostgreSQL writer of a connector batch (see commitBatch): one statement per batch.
import type { Knex } from 'knex';
import type { Cancellation } from '../connectors/contract.js';
import { FencedError } from './lease.js';
import { deliveryFields, entitySets, eventFields, jsonMemo, stateOf, type CommitInput, type EncodedEvents, type NewEvent, type Written } from './batch.js';
import { recordsetFrom, recordsetJson } from './bulk-rows.js';
import { pgRows } from './prepared.js';

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
export async function writePostgres(knex: Knex, input: CommitInput): Promise<Written> {
  const { now, instanceId } = input;
  const encoded = input.encoded ?? encodePostgres(input.events, input.cancellations);
  const list = (names: string[], prefix = '') => names.map((n) => `${prefix}${n}`).join(', ');
  // The fence: the connector's state row, updated only while the lease is ours; everything else
  // is written only if it was (a sub-statement reads another's RETURNING, never its effects).
  const writesState = input.cursor !== undefined || input.lease !== undefined;
  const gate = input.lease ? 'exists (select 1 from fence)' : 'true';
  const state = stateOf(input);
  const sql = `with ${writesState ? `fence as (
      update connector_state set ${Object.keys(state).map((c) => `${c} = ?`).join(', ')}
      where instance_id = ?${input.lease ? ' and lease_owner = ? and lease_epoch = ?' : ''} returning 1
    ), ` : ''}ev as (
      insert into events (instance_id, created_at, ${list(EVENT_ROWS.names)}) select ?, ?, ${list(EVENT_ROWS.names, 'x.')} from ${EVENT_ROWS.sql}
      where ${gate}
      on conflict (instance_id, dedup_key) do nothing returning id, dedup_key
    ), dl as (
      insert into deliveries (event_id, state, attempts, polls, created_at, updated_at, next_attempt_at, ${list(DELIVERY_ROWS.names.slice(2))})
      select ev.id, 'pending', 0, 0, ?, ?, greatest(coalesce(x.not_before, ?), ?), ${list(DELIVERY_ROWS.names.slice(2), 'x.')}
      from ${DELIVERY_ROWS.sql} join ev on ev.dedup_key = x.dedup_key
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
    ...(writesState ? [...Object.values(state), instanceId, ...(input.lease ? [input.lease.owner, input.lease.epoch] : [])] : []),
    instanceId, now, encoded.events, now, now, now, now, encoded.deliveries, now, now, encoded.sets, instanceId,
  ] as Knex.RawBinding[];
  const row = (await pgRows<{ cancelled: string | number; keys: string[] | string; fence?: string | number }>(knex, sql, bindings))[0]!;
  if (input.lease && Number(row.fence) !== 1) throw new FencedError(instanceId);
  const keys = (typeof row.keys === 'string' ? JSON.parse(row.keys) : row.keys) as string[];
  const typeOf = new Map(input.events.map((e) => [e.key, e.type]));
  return { insertedEvents: keys.map((key) => ({ key, type: typeOf.get(key)! })), cancelled: Number(row.cancelled) };
}

export function encodePostgres(all: NewEvent[], cancellations: Cancellation[]): EncodedEvents {
  const json = jsonMemo();
  // A key twice in one batch (callers other than prepareBatch do not dedupe): the first is
  // inserted, as ON CONFLICT would do, and only its deliveries may join it.
  const seen = new Set<string>();
  const events = all.filter((e) => !seen.has(e.key) && seen.add(e.key));
  const eventRows = events.map((e) => tuple(EVENT_ROWS.names, eventFields(e, json)));
  const deliveryRows = events.flatMap((e) => e.deliveries.map((d) => tuple(DELIVERY_ROWS.names, { dedup_key: e.key, not_before: e.notBefore ?? null, ...deliveryFields(d, json) })));
  return { events: recordsetJson(eventRows), deliveries: recordsetJson(deliveryRows), sets: JSON.stringify(entitySets(events, cancellations)) };
}

/** A row's values in the order of its recordset's columns. */
function tuple(names: readonly string[], fields: Record<string, unknown>): unknown[] {
  return names.map((n) => fields[n]);
}

/** Columns the JSON rows carry (the batch's constants are bound once). */
const EVENT_JSON: Record<string, string> = {
  dedup_key: 'text', type: 'text', entity: 'text', fiscal_code: 'text', phone: 'text', language: 'text',
  payload: 'text', not_before: 'bigint', expires_at: 'bigint', route: 'text',
};
const DELIVERY_JSON: Record<string, string> = {
  dedup_key: 'text', not_before: 'bigint', channel: 'text', options: 'text', route_index: 'integer', address: 'text', reason: 'text',
};

function recordset(types: Record<string, string>): { sql: string; names: string[] } {
  const names = Object.keys(types);
  return { sql: recordsetFrom('x', names, names.map((n) => types[n]!)), names };
}

/** The JSON rows' columns (encodePostgres writes its tuples in this order) and their recordset. */
const EVENT_ROWS = recordset(EVENT_JSON);
const DELIVERY_ROWS = recordset(DELIVERY_JSON);
