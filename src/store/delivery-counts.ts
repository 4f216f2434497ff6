// Counts over the deliveries that `ponte status` and /metrics both show, read one way for both.
import type { Knex } from 'knex';
import { CLAIMABLE_STATES, type DeliveryState } from './states.js';

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
  // One state at a time: each is the first entry of a range of the (state, next_attempt_at) index.
  // Over both states at once (`state in (…)`) PostgreSQL cannot read the index in order and
  // planned a scan of the whole ledger: 711 ms at 10 M deliveries, on every /metrics scrape.
  let oldest: number | null = null;
  for (const state of CLAIMABLE_STATES) {
    const row = (await knex('deliveries').where('state', state).where('next_attempt_at', '<=', now)
      .orderBy('next_attempt_at').first('next_attempt_at')) as { next_attempt_at: number | string } | undefined;
    if (row && (oldest === null || Number(row.next_attempt_at) < oldest)) oldest = Number(row.next_attempt_at);
  }
  return oldest;
}
