// A broadcast goes only to a citizen still subscribed to its topic at the moment of sending (a
// "STOP METEO" written after the broadcast was planned still counts). A plain STOP ends every
// topic; a topic subscribed again *after* it counts again (the newer choice wins).
import type { Knex } from 'knex';

export async function broadcastAllowed(knex: Knex, phone: string, topic: string): Promise<boolean> {
  const sub = await knex('topic_subscriptions').where({ phone, topic }).first('state', 'updated_at');
  if (sub?.state !== 'subscribed') return false;
  const global = await knex('consents').where({ phone }).first('state', 'updated_at');
  return !(global?.state === 'opted_out' && Number(global.updated_at) > Number(sub.updated_at));
}
