// A broadcast goes only to a citizen still subscribed to its topic at the moment of sending (a
// "STOP METEO" written after the broadcast was planned still counts) and never after a plain STOP.
import type { Knex } from 'knex';

export async function broadcastAllowed(knex: Knex, phone: string, topic: string): Promise<boolean> {
  const global = await knex('consents').where({ phone }).first('state');
  if (global?.state === 'opted_out') return false;
  const sub = await knex('topic_subscriptions').where({ phone, topic }).first('state');
  return sub?.state === 'subscribed';
}
