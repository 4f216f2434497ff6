// Topic subscriptions with their proof: every change writes the current state (topic_subscriptions)
// and an append-only consent_events row (how, the text received, the privacy-notice version shown,
// the inbound wamid). Unsubscribing cancels the citizen's pending deliveries of that topic's
// broadcasts (events of instance "broadcast:<topic>") in the same transaction.
import type { Knex } from 'knex';

export interface TopicChange {
  phone: string; // E.164
  topic: string;
  action: 'opt_in' | 'opt_out';
  /** whatsapp-menu | whatsapp-keyword | office | … */
  source: string;
  text?: string | null;
  privacyVersion?: string | null;
  /** The inbound wamid, or the staff member's reference. */
  proof?: string | null;
  at: number;
}

export const broadcastInstance = (topic: string) => `broadcast:${topic}`;

/** Pending WhatsApp deliveries of this topic's broadcasts to `phone` (the query, for update or count). */
export function pendingTopicDeliveries(knex: Knex, phone: string, topic: string) {
  return knex('deliveries')
    .where({ channel: 'whatsapp', address: phone, state: 'pending' })
    .whereIn('event_id', knex('events').select('id').where({ instance_id: broadcastInstance(topic) }));
}

export async function changeTopic(knex: Knex, c: TopicChange): Promise<{ cancelled: number }> {
  return knex.transaction(async (trx) => {
    await trx('consent_events').insert({
      phone: c.phone, action: c.action, source: c.source, text: c.text ?? null, at: c.at,
      topic: c.topic, privacy_version: c.privacyVersion ?? null, proof: c.proof ?? null,
    });
    const state = c.action === 'opt_in' ? 'subscribed' : 'unsubscribed';
    await trx('topic_subscriptions')
      .insert({ phone: c.phone, topic: c.topic, state, updated_at: c.at })
      .onConflict(['phone', 'topic'])
      .merge({ state, updated_at: c.at });
    if (c.action === 'opt_in') return { cancelled: 0 };
    const cancelled = await pendingTopicDeliveries(trx, c.phone, c.topic).update({
      state: 'cancelled', reason: `the citizen unsubscribed from topic ${c.topic} (${c.source})`,
      finished_at: c.at, updated_at: c.at, lease_token: null, lease_until: null,
    });
    return { cancelled };
  });
}

/** Topics `phone` is subscribed to now. */
export async function subscribedTopics(knex: Knex, phone: string): Promise<Set<string>> {
  const rows = await knex('topic_subscriptions').where({ phone, state: 'subscribed' }).select('topic');
  return new Set(rows.map((r: { topic: string }) => r.topic));
}
