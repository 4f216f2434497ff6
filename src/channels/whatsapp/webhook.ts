// The receiving side of Meta's webhooks, as pure functions (the HTTP server lives elsewhere):
// the subscription handshake, the payload signature and the parsing of status updates and
// inbound messages (whatsapp.md §5).
import { createHmac, timingSafeEqual } from 'node:crypto';

export type StatusName = 'sent' | 'delivered' | 'read' | 'failed' | 'played';

export interface StatusUpdate {
  wamid: string;
  status: StatusName;
  /** When the status happened, epoch ms (Meta sends Unix seconds as a string). */
  timestamp: number;
  /** The recipient's wa_id (digits, no "+"). */
  recipientId: string;
  /** Our delivery id, echoed from biz_opaque_callback_data (Meta does not promise it on failed). */
  deliveryId?: number;
  errorCode?: number;
  errorTitle?: string;
}

export interface InboundMessage {
  /** wamid of the citizen's message: dedupe on it (webhooks may come twice). */
  id: string;
  /** wa_id, digits without "+". */
  from: string;
  fromE164: string;
  timestamp: number;
  /** text, button, interactive, image, unsupported … */
  type: string;
  /** text.body, button.text, or the title of an interactive reply. */
  text?: string;
  /** The id of an interactive reply, or a quick-reply button's payload. */
  replyId?: string;
  /** The wamid of our message this one answers (context.id). */
  contextId?: string;
}

const SIGNATURE = /^sha256=([0-9a-fA-F]{64})$/;

/**
 * Checks `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(appSecret, raw body)>`. The HMAC is over
 * the raw bytes as received: Meta signs its escaped-unicode serialisation, which re-serialising
 * a parsed body would not reproduce. Constant-time; false for any malformed header.
 */
export function verifySignature(rawBody: Buffer, header: string | undefined, appSecret: string): boolean {
  if (typeof header !== 'string' || !appSecret) return false;
  const hex = SIGNATURE.exec(header.trim())?.[1];
  if (hex === undefined) return false;
  const expected = createHmac('sha256', appSecret).update(rawBody).digest();
  return timingSafeEqual(Buffer.from(hex, 'hex'), expected);
}

/** Answers Meta's GET subscription check: 200 with the challenge when mode and token match, else 403. */
export function verifyHandshake(
  query: URLSearchParams,
  verifyToken: string,
): { status: 200; body: string } | { status: 403 } {
  const token = query.get('hub.verify_token');
  const challenge = query.get('hub.challenge');
  if (query.get('hub.mode') !== 'subscribe' || token === null || challenge === null || !verifyToken) {
    return { status: 403 };
  }
  const given = Buffer.from(token);
  const expected = Buffer.from(verifyToken);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { status: 403 };
  return { status: 200, body: challenge };
}

const STATUS_NAMES: readonly string[] = ['sent', 'delivered', 'read', 'failed', 'played'] satisfies StatusName[];

type Json = Record<string, unknown>;

const obj = (v: unknown): Json | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : undefined);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** Unix seconds (string or number) → epoch ms; missing or garbled → now. */
function millis(v: unknown): number {
  const seconds = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN;
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : Date.now();
}

/**
 * Every status update and inbound message of a webhook body, across all entries, changes and
 * array elements. Tolerant: an element without an id (or a status we do not know) is skipped,
 * any other missing field is left out. With `phoneNumberId`, a change addressed to another
 * business number is skipped: one Meta app (one app secret, one callback URL) may serve several
 * numbers, and a STOP written to another office's number, or its status echoing a numeric
 * biz_opaque_callback_data, is not about our sends.
 */
export function parseWebhook(body: unknown, phoneNumberId?: string): { statuses: StatusUpdate[]; messages: InboundMessage[] } {
  const statuses: StatusUpdate[] = [];
  const messages: InboundMessage[] = [];
  for (const entry of arr(obj(body)?.entry)) {
    for (const change of arr(obj(entry)?.changes)) {
      const c = obj(change);
      if (c?.field !== undefined && c.field !== 'messages') continue;
      const value = obj(c?.value);
      const addressee = obj(value?.metadata)?.phone_number_id;
      if (phoneNumberId !== undefined && addressee !== undefined && String(addressee) !== phoneNumberId) continue;
      for (const s of arr(value?.statuses)) {
        const update = statusUpdate(obj(s));
        if (update) statuses.push(update);
      }
      for (const m of arr(value?.messages)) {
        const message = inboundMessage(obj(m));
        if (message) messages.push(message);
      }
    }
  }
  return { statuses, messages };
}

function statusUpdate(s: Json | undefined): StatusUpdate | undefined {
  const wamid = str(s?.id);
  const status = str(s?.status);
  if (!s || !wamid || !status || !STATUS_NAMES.includes(status)) return undefined;
  const update: StatusUpdate = {
    wamid,
    status: status as StatusName,
    timestamp: millis(s.timestamp),
    recipientId: str(s.recipient_id) ?? '',
  };
  const opaque = str(s.biz_opaque_callback_data);
  if (opaque !== undefined && /^\d{1,15}$/.test(opaque)) update.deliveryId = Number(opaque);
  const error = obj(arr(s.errors)[0]);
  if (typeof error?.code === 'number') update.errorCode = error.code;
  const title = str(error?.title) ?? str(error?.message);
  if (title !== undefined) update.errorTitle = title;
  return update;
}

function inboundMessage(m: Json | undefined): InboundMessage | undefined {
  const id = str(m?.id);
  const from = str(m?.from);
  if (!m || !id || !from) return undefined;
  const message: InboundMessage = {
    id,
    from,
    fromE164: `+${from.replace(/\D/g, '')}`,
    timestamp: millis(m.timestamp),
    type: str(m.type) ?? 'unknown',
  };
  const button = obj(m.button);
  const interactive = obj(m.interactive);
  const reply = obj(interactive?.button_reply) ?? obj(interactive?.list_reply);
  const text = str(obj(m.text)?.body) ?? str(button?.text) ?? str(reply?.title);
  const replyId = str(reply?.id) ?? str(button?.payload);
  const contextId = str(obj(m.context)?.id);
  if (text !== undefined) message.text = text;
  if (replyId !== undefined) message.replyId = replyId;
  if (contextId !== undefined) message.contextId = contextId;
  return message;
}
