// Counts over the deliveries that `ponte status` and /metrics both show, read one way for both.
import type { Knex } from 'knex';
import type { DeliveryState } from './states.js';

/** channel → state → count (only the pairs that have rows); `states` limits the read (default: all). */
export type DeliveryCounts = Map<string, Map<DeliveryState, number>>;

export async function deliveryCounts(knex: Knex, states?: readonly DeliveryState[]): Promise<DeliveryCounts> {
  const q = knex('deliveries').select('channel', 'state').count({ n: '*' }).groupBy('channel', 'state');
  if (states) q.whereIn('state', states);
  const counts: DeliveryCounts = new Map();
  for (const r of (await q) as { channel: string; state: DeliveryState; n: number | string }[]) {
    let byState = counts.get(r.channel);
    if (!byState) counts.set(r.channel, (byState = new Map()));
    byState.set(r.state, Number(r.n));
  }
  return counts;
}

/** When the oldest due work not yet worked off (pending or accepted) became due; null when none is. */
export async function oldestDueAt(knex: Knex, now: number): Promise<number | null> {
  const row = (await knex('deliveries').whereIn('state', ['pending', 'accepted']).where('next_attempt_at', '<=', now).min({ t: 'next_attempt_at' }).first()) as { t: number | string | null } | undefined;
  return row?.t == null ? null : Number(row.t);
}
