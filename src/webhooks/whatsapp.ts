// POST/GET /webhooks/whatsapp: Meta's verification handshake, then signed status and inbound
// message notifications. Unsigned or forged requests get 401 and change nothing. What must not be
// lost (statuses, inbound messages, consent changes, the replies they call for) is stored before
// the 200; sending the replies (from the reply outbox) and waking the dispatcher happen after it.
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { Handler } from '../server/http-server.js';
import { parseWebhook, verifyHandshake, verifySignature } from '../channels/whatsapp/webhook.js';
import { recordStatus } from '../store/whatsapp-statuses.js';
import { handleInbound } from '../consent/handle-inbound.js';
import type { WhatsappConfig } from '../config/schema.js';
import { handleCitizenMessage, handoffNotTaken, type ConversationDeps, type OutboundMessage, type SendOutbound } from '../citizen/conversation/index.js';
import { sendRepliesTo, type SendReply } from './send-replies.js';
import type { StaffEndpoint, StaffEvent } from '../citizen/handoff/staff-endpoint.js';
import type { CrashPoint } from '../util/crash-point.js';

/** The citizens' WhatsApp service (citizenService configured and enabled): the engine answers instead of the keywords. */
export interface CitizenServiceHook {
  deps: Omit<ConversationDeps, 'knex' | 'log' | 'keywords' | 'replies' | 'staffEndpoint'>;
  send: SendOutbound;
  staff?: StaffEndpoint;
}

export interface WhatsappWebhookDeps {
  knex: Knex;
  appSecret: string;
  verifyToken: string;
  /** phoneNumberId: notifications for another business number of the same Meta app are ignored. */
  cfg: Pick<WhatsappConfig, 'keywords' | 'replies'> & Partial<Pick<WhatsappConfig, 'phoneNumberId'>>;
  log: Logger;
  /** Free-form reply inside the customer service window. */
  reply: (toE164: string, text: string) => Promise<unknown>;
  /** Something changed that the dispatcher should act on now. */
  wake?: () => void;
  citizen?: CitizenServiceHook;
  /** Test-only crash points (PONTE_CRASH_AT=during-webhook): hit after each stored notification. */
  crashPoint?: CrashPoint | undefined;
}

export function whatsappWebhookRoutes(deps: WhatsappWebhookDeps): Record<string, Handler> {
  const log = deps.log.child({ webhook: 'whatsapp' });
  return {
    'GET /webhooks/whatsapp': async (_req, url) => {
      const r = verifyHandshake(url.searchParams, deps.verifyToken);
      if (r.status !== 200) log.warn('webhook verification refused: wrong verify token');
      return r.status === 200 ? { status: 200, body: r.body } : { status: 403, body: 'forbidden' };
    },
    'POST /webhooks/whatsapp': async (req, _url, raw) => {
      if (!verifySignature(raw, req.headers['x-hub-signature-256'] as string | undefined, deps.appSecret)) {
        log.warn({ signed: Boolean(req.headers['x-hub-signature-256']) }, 'webhook refused: missing or invalid signature');
        return { status: 401, body: { error: 'invalid signature' } };
      }
      let body: unknown;
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        return { status: 400, body: { error: 'body is not JSON' } };
      }
      const { statuses, messages } = parseWebhook(body, deps.cfg.phoneNumberId);
      const now = Date.now();
      let changed = false;
      for (const s of statuses) {
        const fresh = await recordStatus(deps.knex, { wamid: s.wamid, status: s.status, timestamp: s.timestamp, deliveryId: s.deliveryId, errorCode: s.errorCode, errorTitle: s.errorTitle }, now);
        changed ||= fresh;
        log.debug({ status: s.status, fresh }, 'status webhook');
        deps.crashPoint?.('during-webhook');
      }
      // Inbound messages whose answers were queued in the reply outbox with their handling.
      const answered: string[] = [];
      const staff: StaffEvent[] = [];
      const citizen = deps.citizen;
      for (const m of messages) {
        if (citizen) {
          const out = await handleCitizenMessage(
            { id: m.id, fromE164: m.fromE164, type: m.type, text: m.text, replyId: m.replyId },
            { ...citizen.deps, knex: deps.knex, log, keywords: deps.cfg.keywords, replies: deps.cfg.replies, staffEndpoint: Boolean(citizen.staff) },
          );
          deps.crashPoint?.('during-webhook');
          if (out.messages.length) answered.push(m.id);
          staff.push(...out.staff);
          changed ||= out.cancelled > 0;
          continue;
        }
        const out = await handleInbound({ id: m.id, fromE164: m.fromE164, timestamp: m.timestamp, type: m.type, text: m.text }, { knex: deps.knex, keywords: deps.cfg.keywords, replies: deps.cfg.replies, log });
        deps.crashPoint?.('during-webhook');
        if (out.reply) answered.push(m.id);
        changed ||= Boolean(out.cancelled);
      }
      return {
        status: 200,
        body: 'ok',
        after: async () => {
          if (changed) deps.wake?.();
          const send = replySender(deps);
          // Staff first: a hand-off nobody takes changes the answer the citizen is about to get.
          for (const e of staff) {
            if (await citizen!.staff?.post(e) !== false || e.event !== 'handoff') continue;
            const back = await handoffNotTaken(deps.knex, citizen!.deps.service, e, citizen!.deps.now?.() ?? Date.now())
              .catch((err: unknown) => { log.error({ err }, 'hand-off not taken, and the conversation could not be given back to the bot'); return null; });
            if (back && !answered.includes(back.inboundId)) answered.push(back.inboundId);
          }
          for (const id of answered) {
            await sendRepliesTo(deps.knex, id, send, log).catch((e: unknown) => log.warn({ err: e }, 'replies to the citizen not sent now: the outbox sweep retries them'));
          }
        },
      };
    },
  };
}

/**
 * How a queued reply goes out: through the citizens' service sender when it is configured (texts,
 * menus, media), else as a plain text (keyword confirmations are the only replies then).
 */
export function replySender(deps: Pick<WhatsappWebhookDeps, 'reply' | 'citizen'>): SendReply {
  return (to, message) => {
    if (deps.citizen) return deps.citizen.send(to, message as unknown as OutboundMessage);
    const body = (message as { text?: { body?: string } }).text?.body;
    if (message.type !== 'text' || typeof body !== 'string') return Promise.reject(new Error(`a ${message.type} reply needs the citizens' service, which is not configured`));
    return deps.reply(to, body);
  };
}
