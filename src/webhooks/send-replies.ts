// Sends claimed replies from the outbox (src/store/reply-outbox.ts), each answer's parts in order:
// when one part fails, the later parts of that answer wait (released for the next sweep) rather
// than arrive out of context.
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { ChannelError } from '../channels/channel.js';
import { claimReplies, releaseReply, replyFailed, replySent, staleReplies, type ReplyRow } from '../store/reply-outbox.js';
import { maskText } from '../util/mask.js';

export type SendReply = (toE164: string, message: { type: string } & Record<string, unknown>) => Promise<unknown>;

export async function sendReplies(knex: Knex, rows: readonly ReplyRow[], send: SendReply, log: Logger, now: () => number = Date.now): Promise<{ sent: number; failed: number }> {
  const blocked = new Set<string>();
  let sent = 0;
  let failed = 0;
  for (const r of rows) {
    if (blocked.has(r.inbound_id)) {
      await releaseReply(knex, r.id);
      continue;
    }
    const message = JSON.parse(r.message) as { type: string } & Record<string, unknown>;
    try {
      await send(r.phone, message);
      await replySent(knex, r.id, now());
      sent++;
    } catch (e) {
      failed++;
      blocked.add(r.inbound_id);
      const permanent = e instanceof ChannelError && e.errorClass === 'permanent';
      const error = maskText(e instanceof Error ? e.message : String(e));
      await replyFailed(knex, r.id, error, permanent);
      log.warn({ reply: r.id, type: message.type, attempt: r.attempts, err: error }, permanent ? 'reply to the citizen refused: not retried' : 'reply to the citizen failed: the sweep retries it');
    }
  }
  return { sent, failed };
}

/** The answer to one inbound message, right after the webhook's 200. */
export async function sendRepliesTo(knex: Knex, inboundId: string, send: SendReply, log: Logger, now: () => number = Date.now): Promise<void> {
  await sendReplies(knex, await claimReplies(knex, { inboundId }, now()), send, log, now);
}

/**
 * Replies left over: a process killed after a message's commit and before its answer went out,
 * or a send that failed. Only replies older than `settleMs` are taken, so the sweep does not race
 * the webhook that is about to send its own.
 */
export async function sweepReplies(knex: Knex, send: SendReply, log: Logger, now: () => number = Date.now, settleMs = 5_000): Promise<{ sent: number; failed: number; stale: number }> {
  const stale = await staleReplies(knex, now());
  if (stale) log.warn({ count: stale }, 'replies to citizens not sent in time: dropped as stale');
  const r = await sendReplies(knex, await claimReplies(knex, { leftOverBefore: now() - settleMs }, now()), send, log, now);
  if (r.sent) log.info({ count: r.sent }, 'left-over replies to citizens sent');
  return { ...r, stale };
}
