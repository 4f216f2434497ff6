// Stop-and-alert: a channel whose provider says "stop" (revoked token, blocked account) is halted
// for every process sharing the store; its work stays pending until an operator resumes it.
import type { Knex } from 'knex';

export interface ChannelAlert {
  channel: string;
  reason: string;
  code: string | null;
  since: number;
}

export async function raiseAlert(knex: Knex, channel: string, reason: string, code: string | undefined, now: number): Promise<void> {
  await knex('channel_alerts').insert({ channel, reason, code: code ?? null, since: now }).onConflict('channel').merge({ reason, code: code ?? null });
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
    const alert = (await trx('channel_alerts').where({ channel }).first('since')) as { since: number | string } | undefined;
    if (!alert) return null;
    await trx('channel_alerts').where({ channel }).del();
    const since = Number(alert.since);
    const due = await trx('deliveries')
      .where({ channel, state: 'pending' })
      .where('updated_at', '>=', since)
      .where('next_attempt_at', '>', now)
      .where('next_attempt_at', '<=', Math.max(now, since) + HALT_RETRY_MS)
      .update({ next_attempt_at: now });
    return { due };
  });
}
