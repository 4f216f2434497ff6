// A batch as the store writes it: the events a connector (or a broadcast) hands over, with their
// deliveries, and what every dialect's writer shares about it.
import type { Cancellation, RowError } from '../connectors/contract.js';
import type { Lease } from './lease.js';

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

/** A batch as the PostgreSQL writer's three JSON parameters (commit-batch-postgres.ts). */
export interface EncodedEvents {
  readonly events: string;
  readonly deliveries: string;
  readonly sets: string;
}

export type Written = Pick<CommitResult, 'insertedEvents' | 'cancelled'>;

/**
 * Entity sets: the events a batch emits for an entity are its complete current set, so pending
 * deliveries of that entity's other events are superseded; an explicit cancellation empties the set.
 */
export function entitySets(events: NewEvent[], cancellations: Cancellation[]): Array<{ entity: string; keys: string[]; reason: string }> {
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

/** JSON text of objects a batch shares between its rows (one route per event type), built once. */
export function jsonMemo(): (value: unknown) => string {
  const texts = new WeakMap<object, string>();
  return (value) => {
    if (typeof value !== 'object' || value === null) return JSON.stringify(value);
    let text = texts.get(value);
    if (text === undefined) texts.set(value, (text = JSON.stringify(value)));
    return text;
  };
}

/** An event's own columns, as every writer stores them (the batch's instance and time aside). */
export function eventFields(e: NewEvent, json: (v: unknown) => string) {
  return {
    dedup_key: e.key,
    type: e.type,
    entity: e.entity ?? null,
    fiscal_code: e.fiscalCode,
    phone: e.phone ?? null,
    language: e.language ?? null,
    payload: JSON.stringify(e.data),
    not_before: e.notBefore ?? null,
    expires_at: e.expiresAt ?? null,
    route: json(e.route),
  };
}

/** A delivery's own columns (its event, state and times aside). */
export function deliveryFields(d: NewDelivery, json: (v: unknown) => string) {
  return { channel: d.channel, options: json(d.options), route_index: d.routeIndex, address: d.address, reason: d.reason ?? null };
}

export function stateOf(input: CommitInput): Record<string, unknown> {
  return { updated_at: input.now, ...(input.cursor !== undefined ? { cursor: JSON.stringify(input.cursor) } : {}) };
}
