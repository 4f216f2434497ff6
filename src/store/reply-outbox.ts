// The reply outbox: answers to a citizen's WhatsApp message, queued in the transaction that
// handled the message and sent after the webhook's 200 (see migrations/20261203_006_reply_outbox).
// A reply is claimed before it is sent, so the webhook's own send and the periodic sweep of left-
// over replies (another process's, or this one's before a restart) never send it twice at once.
// A process killed between the send and its record leaves the claim to expire and the reply is
// sent again: a confirmation twice is better than none. Replies that could not go out within
// REPLY_MAX_AGE_MS are dropped as stale: a late "you are unsubscribed" confuses more than it helps.
import type { Knex } from 'knex';

export interface ReplyRow {
  id: number;
  inbound_id: string;
  phone: string;
  seq: number;
  message: string;
  attempts: number;
}

export const REPLY_MAX_AGE_MS = 15 * 60_000;

/** The states of a reply not (yet) sent; `sent` is the only other one. */
export const UNSENT_REPLY_STATES = ['pending', 'sending', 'failed', 'stale'] as const;
export type UnsentReplyState = (typeof UNSENT_REPLY_STATES)[number];
const CLAIM_MS = 60_000;

/** Queues the answer to one inbound message, in the caller's transaction. */
export async function queueReplies(trx: Knex, inboundId: string, phone: string, messages: readonly unknown[], now: number): Promise<void> {
  if (messages.length === 0) return;
  await trx('reply_outbox').insert(messages.map((m, seq) => ({
    inbound_id: inboundId, phone, seq, message: JSON.stringify(m), state: 'pending', created_at: now,
  })));
}

/**
 * Claims sendable replies, oldest first: those of one inbound message (the webhook, right after
 * its 200), or every one left over (the sweep). The conditional UPDATE that takes them skips any
 * row another process took meanwhile, so two processes never hold the same reply.
 */
export async function claimReplies(knex: Knex, scope: { inboundId: string } | { leftOverBefore: number }, now: number): Promise<ReplyRow[]> {
  const claimable = (w: Knex.QueryBuilder) => w.where('state', 'pending').orWhere((x) => x.where('state', 'sending').where('claim_until', '<', now));
  const q = knex('reply_outbox')
    .select('id')
    .where(claimable)
    // A part waits while an earlier part of its answer is being sent elsewhere (it would overtake
    // it), and for good once one failed or went stale (it would arrive out of context). Earlier
    // parts still pending come first in this same claim.
    .whereNotExists((sub) => sub.select(knex.raw('1')).from('reply_outbox as o')
      .whereRaw('o.inbound_id = reply_outbox.inbound_id and o.seq < reply_outbox.seq')
      .where((w) => w.whereIn('o.state', ['failed', 'stale']).orWhere((x) => x.where('o.state', 'sending').where('o.claim_until', '>=', now))))
    .orderBy([{ column: 'created_at' }, { column: 'inbound_id' }, { column: 'seq' }])
    .limit(200);
  // The webhook's own answer is fresh by definition (and stamped by the engine's clock, which a
  // test may set); left-overs are taken only while they are still worth sending.
  if ('inboundId' in scope) q.where('inbound_id', scope.inboundId);
  else q.where('created_at', '<', scope.leftOverBefore).where('created_at', '>=', now - REPLY_MAX_AGE_MS);
  const ids = ((await q) as Array<{ id: number }>).map((r) => Number(r.id));
  if (ids.length === 0) return [];
  // One conditional UPDATE takes them all: a row another claimant took meanwhile no longer matches.
  const claimed = (await knex('reply_outbox')
    .whereIn('id', ids)
    .where(claimable)
    .update({ state: 'sending', claim_until: now + CLAIM_MS, attempts: knex.raw('attempts + 1') })
    .returning(['id', 'inbound_id', 'phone', 'seq', 'message', 'attempts'])) as ReplyRow[];
  const order = new Map(ids.map((id, i) => [id, i]));
  return claimed.map((r) => ({ ...r, id: Number(r.id) })).sort((a, b) => order.get(a.id)! - order.get(b.id)!);
}

/**
 * Counts of the replies not sent, by state (`ponte status`, /metrics at every scrape). The states
 * are named, not `<> 'sent'`: the (state, created_at) index then skips the sent replies kept until purge.
 */
export async function unsentReplies(knex: Knex): Promise<Map<UnsentReplyState, number>> {
  const rows = (await knex('reply_outbox').whereIn('state', UNSENT_REPLY_STATES).select('state').count({ n: '*' }).groupBy('state')) as { state: UnsentReplyState; n: number | string }[];
  return new Map(rows.map((r) => [r.state, Number(r.n)]));
}

/** Gives a claimed reply back untouched (an earlier part of its answer could not be sent now). */
export async function releaseReply(knex: Knex, id: number): Promise<void> {
  await knex('reply_outbox').where({ id, state: 'sending' }).update({ state: 'pending', claim_until: null });
}

export async function replySent(knex: Knex, id: number, now: number): Promise<void> {
  await knex('reply_outbox').where({ id }).update({ state: 'sent', sent_at: now, claim_until: null, last_error: null });
}

/** A failed send: back to pending for the sweep, or failed for good (a permanent error). */
export async function replyFailed(knex: Knex, id: number, error: string, permanent: boolean): Promise<void> {
  await knex('reply_outbox').where({ id }).update({ state: permanent ? 'failed' : 'pending', claim_until: null, last_error: error.slice(0, 500) });
}

/** Replies that were never sent in time: marked stale (kept for the operator), never sent. */
export async function staleReplies(knex: Knex, now: number): Promise<number> {
  return knex('reply_outbox')
    .whereIn('state', ['pending', 'sending'])
    .where('created_at', '<', now - REPLY_MAX_AGE_MS)
    .update({ state: 'stale', claim_until: null });
}
