// What Ponte holds about one citizen of the WhatsApp service ("I MIEI DATI"), erasing it
// ("CANCELLA I MIEI DATI": only the consent rows that prove the opt-out survive), and opt-outs
// staff record for a citizen who asked at an office or on a web form.
import type { Knex } from 'knex';
import { recordConsent } from './consent.js';
import { purgeBroadcastsTo } from './purge.js';
import { changeTopic, pendingTopicDeliveries, subscribedTopics } from './topic-subscriptions.js';
import { getProfile } from './citizen-profiles.js';
import { getSession, type CitizenSession } from './citizen-sessions.js';

export interface CitizenData {
  subscriptions: string[];
  profile: Record<string, string>;
  /** opted_in | opted_out | null (never asked): the global WhatsApp reminders consent. */
  consent: string | null;
  consentEvents: number;
  inboundMessages: number;
  session: CitizenSession | null;
}

/**
 * One read after another, not Promise.all: `knex` is the citizen message's transaction, whose one
 * connection runs one query at a time (node-postgres queued the rest, with a deprecation warning;
 * pg 9 refuses them).
 */
export async function citizenData(knex: Knex, phone: string): Promise<CitizenData> {
  const subs = await subscribedTopics(knex, phone);
  const profile = await getProfile(knex, phone);
  const consent = await knex('consents').where({ phone }).first('state');
  const events = await knex('consent_events').where({ phone }).count({ n: '*' }).first();
  const inbound = await knex('inbound_messages').where({ phone }).count({ n: '*' }).first();
  const session = await getSession(knex, phone);
  return {
    subscriptions: [...subs].sort(),
    profile,
    consent: (consent?.state as string | undefined) ?? null,
    consentEvents: Number(events?.n ?? 0),
    inboundMessages: Number(inbound?.n ?? 0),
    session,
  };
}

export interface ErasureProof {
  source: string;
  text?: string | null;
  privacyVersion?: string | null;
  proof?: string | null;
  at: number;
}

/** Stands for the number in the inbound messages an erasure keeps (the column is not nullable). */
export const ERASED = '-';

/**
 * Erases session, profile, subscriptions, the number and text of inbound messages, and the number from the
 * broadcasts it received whose deliveries are final (purge.ts, as retention would); keeps the consent
 * events that prove opt-outs (the opt-in rows and their texts go), records a final global opt-out
 * (source "erasure", which also cancels pending WhatsApp sends) and marks the number opted out.
 */
export async function eraseCitizen(knex: Knex, phone: string, p: ErasureProof): Promise<{ cancelled: number }> {
  const topics = await knex('topic_subscriptions').where({ phone }).select('topic');
  let cancelled = 0;
  for (const { topic } of topics as Array<{ topic: string }>) {
    cancelled += await pendingTopicDeliveries(knex, phone, topic).update({
      state: 'cancelled', reason: 'the citizen erased their data', finished_at: p.at, updated_at: p.at, lease_token: null, lease_until: null,
    });
  }
  await knex.transaction(async (trx) => {
    await trx('citizen_sessions').where({ phone }).delete();
    await trx('citizen_profiles').where({ phone }).delete();
    await trx('topic_subscriptions').where({ phone }).delete();
    // Kept for Meta's repeated webhooks (by message id: a repeated old ISCRIVIMI must not
    // subscribe the number again), but no longer the number's: no phone, text or what was done.
    await trx('inbound_messages').where({ phone }).update({ phone: ERASED, text: null, handled_as: null });
    await trx('reply_outbox').where({ phone }).delete(); // our earlier answers (this one's confirmation is queued after)
    await trx('consent_events').where({ phone }).whereNot({ action: 'opt_out' }).delete();
    // The broadcasts already sent (and those just cancelled) keep their dedup keys, by pseudonym.
    await purgeBroadcastsTo(trx, phone, p.at);
  });
  const r = await recordConsent(knex, { phone, action: 'opt_out', source: 'erasure', text: p.text ?? null, at: p.at });
  // recordConsent writes the plain row; the erasure's proof columns are added here.
  await knex('consent_events').where({ phone, source: 'erasure', at: p.at }).update({ privacy_version: p.privacyVersion ?? null, proof: p.proof ?? null });
  return { cancelled: cancelled + r.cancelled };
}

/**
 * An opt-out made elsewhere (an office, a web form), recorded by staff: one topic, or everything
 * (topic null: global WhatsApp opt-out and every subscribed topic off). `source` says where,
 * e.g. "office:URP" or "web-form"; `note` is kept as the proof's text.
 */
export async function recordOptOut(knex: Knex, phone: string, topic: string | null, source: string, opts: { at?: number; note?: string | null } = {}): Promise<{ cancelled: number }> {
  const at = opts.at ?? Date.now();
  if (topic !== null) return changeTopic(knex, { phone, topic, action: 'opt_out', source, text: opts.note ?? null, at });
  const r = await recordConsent(knex, { phone, action: 'opt_out', source, text: opts.note ?? null, at });
  let cancelled = r.cancelled;
  for (const t of await subscribedTopics(knex, phone)) {
    cancelled += (await changeTopic(knex, { phone, topic: t, action: 'opt_out', source, text: opts.note ?? null, at })).cancelled;
  }
  return { cancelled };
}
