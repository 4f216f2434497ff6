// Who a broadcast reaches: the citizens subscribed to its topic, narrowed by an optional segment
// of profile attributes (a citizen who gave no answer for an attribute is outside a segment on it).
import type { Knex } from 'knex';

export type Segment = Record<string, string[]>;

export interface Recipient { phone: string; attributes: Record<string, string> }

export async function topicSubscribers(knex: Knex, topic: string): Promise<Recipient[]> {
  const rows = await knex('topic_subscriptions as s')
    .leftJoin('citizen_profiles as p', 'p.phone', 's.phone')
    .where({ 's.topic': topic, 's.state': 'subscribed' })
    .orderBy('s.updated_at').orderBy('s.phone')
    .select('s.phone', 'p.attributes');
  return rows.map((r) => ({ phone: String(r.phone), attributes: r.attributes ? JSON.parse(String(r.attributes)) as Record<string, string> : {} }));
}

export function inSegment(r: Recipient, segment: Segment | null | undefined): boolean {
  if (!segment) return true;
  return Object.entries(segment).every(([attr, values]) => values.length === 0 || values.includes(r.attributes[attr] ?? ''));
}

/** Audience size per value of each segment attribute, for the dry run. */
export function countBy(recipients: Recipient[], attributes: string[]): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const a of attributes) {
    out[a] = {};
    for (const r of recipients) {
      const v = r.attributes[a] ?? '(non indicato)';
      out[a][v] = (out[a][v] ?? 0) + 1;
    }
  }
  return out;
}
