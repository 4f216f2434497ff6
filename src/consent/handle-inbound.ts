// A message a citizen wrote to the municipality's WhatsApp number: stored once (Meta may deliver
// a webhook twice), then read for consent keywords. Replies are free-form, allowed because the
// citizen has just opened the 24-hour window.
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { recordConsent } from '../store/consent.js';
import { queueReplies } from '../store/reply-outbox.js';
import { matchKeyword, type KeywordAction } from './keywords.js';
// The ref `ponte ref` prints: a helpdesk finds when a citizen wrote STOP without a number in the log.
import { phoneRef } from '../channels/whatsapp/privacy.js';

export interface InboundText {
  id: string;
  fromE164: string;
  timestamp: number;
  type: string;
  text?: string | undefined;
}

export interface InboundDeps {
  knex: Knex;
  keywords: { optIn: string[]; optOut: string[]; privacy: string[] };
  replies: { optIn: string; optOut: string; privacy: string; other?: string };
  log: Logger;
  now?: () => number;
}

export interface InboundOutcome {
  duplicate: boolean;
  action: KeywordAction | null;
  /** The text to send back, if any: queued in the reply outbox, sent after the webhook's answer. */
  reply?: string;
  cancelled?: number;
}

/**
 * The message's id — the key Meta's retries are recognised by — is stored in one transaction with
 * what the message changes: a process killed in between leaves neither, so the retry is handled
 * afresh rather than found "already seen" with its STOP never applied.
 */
export function handleInbound(msg: InboundText, deps: InboundDeps): Promise<InboundOutcome> {
  return deps.knex.transaction(async (trx) => {
    const out = await handle(msg, { ...deps, knex: trx });
    // Queued with the change it confirms: a kill before it is sent leaves it to the outbox sweep.
    if (out.reply) await queueReplies(trx, msg.id, msg.fromE164, [replyText(out.reply)], deps.now?.() ?? Date.now());
    return out;
  });
}

/** A free-form text reply as the Cloud API's message object. */
export function replyText(body: string): { type: 'text'; text: { body: string; preview_url: boolean } } {
  return { type: 'text', text: { body, preview_url: /https?:\/\//.test(body) } };
}

/** How often a citizen writing other than keywords is told that nobody reads the messages. */
export const OTHER_REPLY_EVERY_MS = 24 * 3_600_000;

/** What a citizen says something with (a voice message too); a reaction (👍) or a system notice asks nothing. */
const SAYS_SOMETHING = new Set(['text', 'button', 'interactive', 'audio', 'image', 'video', 'document', 'location', 'contacts', 'sticker']);

async function handle(msg: InboundText, deps: InboundDeps): Promise<InboundOutcome> {
  const now = deps.now?.() ?? Date.now();
  const action = matchKeyword(msg.text, deps.keywords);
  // Once a day at most (index on phone, received_at): a citizen writing five lines gets one answer,
  // not five; a reply to our reply's wording starts no exchange.
  const answerOther = !action && Boolean(deps.replies.other) && SAYS_SOMETHING.has(msg.type) && !(await deps.knex('inbound_messages')
    .where({ phone: msg.fromE164, handled_as: 'other-answered' }).where('received_at', '>', now - OTHER_REPLY_EVERY_MS).first('id'));
  const inserted = (await deps.knex('inbound_messages')
    .insert({ id: msg.id, phone: msg.fromE164, type: msg.type, text: msg.text ?? null, handled_as: action ?? (answerOther ? 'other-answered' : 'unhandled'), received_at: now })
    .onConflict('id').ignore()
    .returning('id')) as unknown[];
  if (inserted.length === 0) return { duplicate: true, action: null };

  if (action === 'opt_in' || action === 'opt_out') {
    // Ordered by when we received it (ms), not Meta's whole-second timestamp, so a change made in
    // the same second as an earlier one still counts as the newer.
    const { cancelled } = await recordConsent(deps.knex, { phone: msg.fromE164, action, source: 'whatsapp-keyword', text: msg.text ?? null, at: now });
    deps.log.info({ citizen: phoneRef(msg.fromE164), action, cancelled }, action === 'opt_in' ? 'citizen opted in on WhatsApp' : 'citizen opted out on WhatsApp: pending sends cancelled');
    return { duplicate: false, action, reply: action === 'opt_in' ? deps.replies.optIn : deps.replies.optOut, cancelled };
  }
  if (action === 'privacy') return { duplicate: false, action, reply: deps.replies.privacy };
  if (answerOther) {
    deps.log.info({ citizen: phoneRef(msg.fromE164), type: msg.type }, 'inbound WhatsApp message with no keyword: stored, answered with replies.other (nobody reads it)');
    return { duplicate: false, action: null, reply: deps.replies.other! };
  }
  deps.log.info({ citizen: phoneRef(msg.fromE164), type: msg.type }, 'inbound WhatsApp message with no keyword: stored, not answered');
  return { duplicate: false, action: null };
}
