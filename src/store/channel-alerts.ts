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
