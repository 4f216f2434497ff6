// Stop-and-alert: a channel whose provider says "stop" (revoked token, blocked account) is halted
// for every process sharing the store; its work stays pending until an operator resumes it.
import type { Knex } from 'knex';

/**
 * An alert's key: the channel, or "<channel>:<part>" when the provider's "stop" concerns one part
 * of it only (IO: one service's key), so that the channel's other parts go on.
 */
export function alertKey(channel: string, part?: string): string {
  return part ? `${channel}:${part}` : channel;
}

/** The channel an alert key belongs to, and the part it halts (undefined: the whole channel). */
export function parseAlertKey(key: string): { channel: string; part?: string } {
  const i = key.indexOf(':');
  return i < 0 ? { channel: key } : { channel: key.slice(0, i), part: key.slice(i + 1) };
}

export interface ChannelAlert {
  channel: string;
  reason: string;
  code: string | null;
  since: number;
}

/** The code of a halt an operator set (`ponte channel halt`): a restart does not lift it. */
export const OPERATOR_HALT = 'operator';

export async function raiseAlert(knex: Knex, channel: string, reason: string, code: string | undefined, now: number): Promise<void> {
  const upsert = knex('channel_alerts').insert({ channel, reason, code: code ?? null, since: now }).onConflict('channel').merge({ reason, code: code ?? null });
  // A provider's "stop" answering a send in flight at an operator's halt leaves that halt as it is
  // (one a restart lifts would replace it).
  await (code === OPERATOR_HALT ? upsert : upsert.whereRaw("coalesce(channel_alerts.code, '') <> ?", [OPERATOR_HALT]));
}

export async function activeAlerts(knex: Knex): Promise<ChannelAlert[]> {
  return ((await knex('channel_alerts').select('*')) as ChannelAlert[]).map((a) => ({ ...a, since: Number(a.since) }));
}

export async function clearAlert(knex: Knex, channel: string): Promise<boolean> {
  return (await knex('channel_alerts').where({ channel }).del()) > 0;
}

/** How long the sends in flight at a halt are put off (process-delivery's halt outcome). */
export const HALT_RETRY_MS = 60_000;

/**
 * Lifts the alert and makes due at once the sends the halt put off (those in flight when it came,
 * written pending a minute ahead): "resumed" should mean they go at the next pass, not a minute
 * later. Null when the channel was not halted; else how many were made due.
 */
export async function resumeChannel(knex: Knex, channel: string, now: number): Promise<{ due: number } | null> {
  return knex.transaction(async (trx) => {
    // The channel's own alert and those of its parts (e.g. one IO service's key): all lifted.
    const mine = (q: Knex.QueryBuilder) => q.where({ channel }).orWhere('channel', 'like', `${channel}:%`);
    const alerts = (await trx('channel_alerts').where(mine).select('since')) as Array<{ since: number | string }>;
    if (alerts.length === 0) return null;
    await trx('channel_alerts').where(mine).del();
    const since = Math.min(...alerts.map((a) => Number(a.since)));
    const due = await trx('deliveries')
      .where({ channel, state: 'pending' })
      .where('updated_at', '>=', since)
      .where('next_attempt_at', '>', now)
      .where('next_attempt_at', '<=', Math.max(now, since) + HALT_RETRY_MS)
      .update({ next_attempt_at: now });
    return { due };
  });
}
