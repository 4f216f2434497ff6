// Claiming due work. On PostgreSQL several processes claim concurrently: FOR UPDATE SKIP LOCKED
// hands each row to exactly one of them. On SQLite one process runs and the single connection
// makes the UPDATE atomic. A claim is a lease (token + deadline), not a state: if the process
// dies, the lease runs out and the row is claimable again.
import type { Knex } from 'knex';
import { randomUUID } from 'node:crypto';
import type { Store } from './db.js';
import { parseJson, parseRoute, type ClaimedDelivery, type DeliveryRow, type EventRow } from './rows.js';
import { CLAIMABLE_STATES } from './states.js';

export interface ClaimOptions {
  limit: number;
  leaseMs: number;
  now: number;
  channels?: string[];
}

export async function claimDeliveries(store: Store, opts: ClaimOptions): Promise<{ token: string; items: ClaimedDelivery[] }> {
  const { knex } = store;
  const token = randomUUID();
  const due = knex('deliveries')
    .select('id')
    .whereIn('state', CLAIMABLE_STATES as string[])
    .where('next_attempt_at', '<=', opts.now)
    .where((q) => q.whereNull('lease_until').orWhere('lease_until', '<', opts.now))
    .orderBy('next_attempt_at')
    .limit(opts.limit);
  if (opts.channels) due.whereIn('channel', opts.channels);
  if (store.dialect === 'postgres') due.forUpdate().skipLocked();

  const claimed = (await knex('deliveries')
    .whereIn('id', due)
    .update({ lease_token: token, lease_until: opts.now + opts.leaseMs })
    .returning('*')) as DeliveryRow[];
  if (claimed.length === 0) return { token, items: [] };

  const events = (await knex('events').whereIn('id', claimed.map((d) => d.event_id))) as EventRow[];
  const byId = new Map(events.map((e) => [e.id, e]));
  const items = claimed
    .sort((a, b) => a.next_attempt_at - b.next_attempt_at || a.id - b.id)
    .map((delivery) => {
      const event = byId.get(delivery.event_id)!;
      const options = parseJson(delivery.options, `delivery ${delivery.id} options`);
      return { delivery, event, options, data: parseJson(event.payload, `event ${event.id} payload`), route: parseRoute(event, delivery, options) };
    });
  return { token, items };
}

export type { Knex };
