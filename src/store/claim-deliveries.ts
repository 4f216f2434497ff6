// Claiming due work. On PostgreSQL several processes claim concurrently: FOR UPDATE SKIP LOCKED
// hands each row to exactly one of them. On SQLite one process runs and the single connection
// makes the UPDATE atomic. A claim is a lease (token + deadline), not a state: if the process
// dies, the lease runs out and the row is claimable again.
import type { Knex } from 'knex';
import { randomUUID } from 'node:crypto';
import type { Store } from './db.js';
import { parseJson, parseRoute, type ClaimedDelivery, type DeliveryRow, type EventRow } from './rows.js';
import type { DeliveryState } from './states.js';
import { pgRows } from './prepared.js';

export interface ClaimOptions {
  limit: number;
  leaseMs: number;
  now: number;
  channels?: string[];
  /**
   * Count a takeover of an expired lease on a pending delivery as an attempt. With onUncertain
   * 'resend' no `sending` is written before a request, so a process that dies mid-send leaves only
   * its lease behind; counting the takeover lets the retry budget end a crash loop (each turn of
   * which may have sent a copy) instead of resending forever.
   */
  countTakeovers?: boolean;
  /** Starts the claim's token: the process's claim tag, by which its claims are found if it dies (dead-processes.ts). */
  tokenPrefix?: string;
}

export async function claimDeliveries(store: Store, opts: ClaimOptions): Promise<{ token: string; items: ClaimedDelivery[] }> {
  const token = opts.tokenPrefix ? `${opts.tokenPrefix}.${randomUUID()}` : randomUUID();
  // Two lanes, each an ordered range of the (state, next_attempt_at) index: status polls of
  // accepted messages first (at most half a batch), then sends. Oldest-due-first over both states
  // at once would leave polls behind a backlog of sends, and citizens' messages unconfirmed.
  const half = Math.max(1, Math.floor(opts.limit / 2));
  const polls = await claimLane(store, 'accepted', half, token, opts);
  const sends = polls.length < opts.limit ? await claimLane(store, 'pending', opts.limit - polls.length, token, opts) : [];
  // Few sends due: the rest of the batch goes to more polls (a short batch means "nothing left").
  if (polls.length === half && polls.length + sends.length < opts.limit) {
    polls.push(...await claimLane(store, 'accepted', opts.limit - polls.length - sends.length, token, opts));
  }
  const claimed = [...polls, ...sends];
  if (claimed.length === 0) return { token, items: [] };

  const { knex } = store;
  const ids = claimed.map((d) => d.event_id);
  // PostgreSQL: one array parameter instead of one per id (a batch of 200 is parsed much faster).
  const events = store.dialect === 'postgres'
    ? await pgRows<EventRow>(knex, PG_EVENTS, [ids])
    : (await knex('events').whereIn('id', ids)) as EventRow[];
  const byId = new Map(events.map((e) => [e.id, e]));
  const items = claimed
    .map((delivery) => {
      const event = byId.get(delivery.event_id)!;
      const options = parseJson(delivery.options, `delivery ${delivery.id} options`);
      return { delivery, event, options, data: parseJson(event.payload, `event ${event.id} payload`), route: parseRoute(event, delivery, options) };
    });
  return { token, items };
}

/** One state's due, unleased rows, oldest due first, leased to `token` in one statement. */
async function claimLane(store: Store, state: DeliveryState, limit: number, token: string, opts: ClaimOptions): Promise<DeliveryRow[]> {
  const rows = await leaseDue(store, state, limit, token, opts);
  return rows.sort((a, b) => a.next_attempt_at - b.next_attempt_at || a.id - b.id);
}

/** The statement of claimLane, in RETURNING's order (none promised). */
async function leaseDue(store: Store, state: DeliveryState, limit: number, token: string, opts: ClaimOptions): Promise<DeliveryRow[]> {
  const { knex } = store;
  const takeover = Boolean(opts.countTakeovers && state === 'pending');
  if (store.dialect === 'postgres') {
    return pgRows<DeliveryRow>(knex, pgClaimSql(takeover, opts.channels !== undefined), [
      token, opts.now + opts.leaseMs, state, opts.now, opts.now, ...(opts.channels ? [opts.channels] : []), limit,
    ]);
  }
  const due = knex('deliveries')
    .select('id')
    .where('state', state)
    .where('next_attempt_at', '<=', opts.now)
    .where((q) => q.whereNull('lease_until').orWhere('lease_until', '<', opts.now))
    .orderBy('next_attempt_at')
    .limit(limit);
  if (opts.channels) due.whereIn('channel', opts.channels);
  const claim = knex('deliveries').whereIn('id', due);
  // SET reads the old row: a lease still set here is an expired one (the WHERE admits no other).
  const counted = takeover ? { attempts: knex.raw('attempts + case when lease_until is not null then 1 else 0 end') } : {};
  return (await claim
    .update({ lease_token: token, lease_until: opts.now + opts.leaseMs, ...counted })
    .returning('*')) as DeliveryRow[];
}

/**
 * PostgreSQL's claim, as a named prepared statement (prepared.ts): built by knex, each claim's
 * statements were compiled in Node and parsed and planned by the server again, a few µs of Node
 * CPU per delivery at a claim of 200. Its plan, generic after a few runs, is the query's by
 * construction: the ids come from an ordered range of the (state, next_attempt_at) index, locked
 * with SKIP LOCKED, and are then updated by primary key (= any(array(…)); `in (subquery)` let the
 * planner hash-join against a scan of the whole table, which grows with the ledger).
 * A takeover of an expired lease on a pending delivery counts as an attempt when asked
 * (countTakeovers): SET reads the old row, so a lease still set there is an expired one.
 */
export function pgClaimSql(takeover: boolean, byChannel: boolean): string {
  return `update deliveries set lease_token = ?, lease_until = ?${takeover ? ', attempts = attempts + case when lease_until is not null then 1 else 0 end' : ''}
    where id = any(array(
      select id from deliveries
      where state = ? and next_attempt_at <= ? and (lease_until is null or lease_until < ?)${byChannel ? ' and channel = any(?::text[])' : ''}
      order by next_attempt_at limit ? for update skip locked
    ))
    returning *`;
}

const PG_EVENTS = 'select * from events where id = any(?::bigint[])';

export type { Knex };
