// The facts /metrics reads from the store at scrape time: deliveries by channel and state, how
// late the oldest due work is, the halted channels and the replies not sent. Four cheap queries, kept lean because a
// scrape comes every 15–60 s; `ponte status` (src/store/status.ts) shows the same facts in full.
import type { Knex } from 'knex';
import type { DeliveryState } from '../store/states.js';
import { unsentReplies, type UnsentReplyState } from '../store/reply-outbox.js';

export interface StoreFacts {
  /** channel → state → count (only the pairs that have rows). */
  deliveries: Map<string, Map<DeliveryState, number>>;
  /** Seconds since the oldest pending/accepted delivery became due; 0 when nothing is overdue. */
  oldestDueSeconds: number;
  /** Channels with an active stop-and-alert condition. */
  halted: Set<string>;
  /** Replies to citizens in the outbox by state, those not sent (pending, sending, failed, stale). */
  replies: Map<UnsentReplyState, number>;
}

export async function readStoreFacts(knex: Knex, now: number): Promise<StoreFacts> {
  const rows = (await knex('deliveries').select('channel', 'state').count({ n: '*' }).groupBy('channel', 'state')) as { channel: string; state: DeliveryState; n: number | string }[];
  const deliveries: StoreFacts['deliveries'] = new Map();
  for (const r of rows) {
    let byState = deliveries.get(r.channel);
    if (!byState) deliveries.set(r.channel, (byState = new Map()));
    byState.set(r.state, Number(r.n));
  }
  // The same definition as `ponte status` (oldestDueSeconds): due work not yet worked off.
  const oldest = (await knex('deliveries').whereIn('state', ['pending', 'accepted']).where('next_attempt_at', '<=', now).min({ t: 'next_attempt_at' }).first()) as { t: number | string | null } | undefined;
  const t = oldest?.t == null ? null : Number(oldest.t);
  const alerts = (await knex('channel_alerts').select('channel')) as { channel: string }[];
  return {
    deliveries,
    oldestDueSeconds: t == null ? 0 : Math.max(0, (now - t) / 1000),
    halted: new Set(alerts.map((a) => a.channel)),
    replies: await unsentReplies(knex),
  };
}
