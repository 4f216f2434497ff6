// Webhook bodies in the shape of Meta's own examples (test/fixtures/whatsapp, whatsapp.md §5),
// v24 era: no `conversation` object, timestamps as strings of Unix seconds.
import { statusError } from './errors.js';

export interface Business {
  wabaId: string;
  displayPhoneNumber: string;
  phoneNumberId: string;
}

export type StatusName = 'sent' | 'delivered' | 'read' | 'failed';

export interface StatusEvent {
  wamid: string;
  status: StatusName;
  /** When it happened, epoch ms. */
  at: number;
  /** E.164 with "+". */
  to: string;
  opaque?: string;
  errorCode?: number;
  /** Template (billed as utility) or free-form text inside the window. */
  type: 'template' | 'text';
}

export interface InboundEvent {
  id: string;
  fromE164: string;
  name: string;
  at: number;
  text: string;
  /** A tap on a quick-reply button: type "button" with this payload. */
  buttonPayload?: string;
  /** The wamid of our message it answers. */
  contextId?: string;
}

function envelope(biz: Business, value: Record<string, unknown>): Record<string, unknown> {
  return {
    object: 'whatsapp_business_account',
    entry: [
      {
        id: biz.wabaId,
        changes: [
          {
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: biz.displayPhoneNumber, phone_number_id: biz.phoneNumberId },
              ...value,
            },
            field: 'messages',
          },
        ],
      },
    ],
  };
}

const seconds = (ms: number): string => String(Math.floor(ms / 1000));

export function statusEnvelope(biz: Business, e: StatusEvent): Record<string, unknown> {
  const status: Record<string, unknown> = { id: e.wamid, status: e.status, timestamp: seconds(e.at), recipient_id: e.to.slice(1) };
  // Meta promises the echo on sent, delivered and read only: consumers must correlate on the wamid.
  if (e.opaque !== undefined && e.status !== 'failed') status.biz_opaque_callback_data = e.opaque;
  // Pricing rides on sent and on delivered (§5).
  if (e.status === 'sent' || e.status === 'delivered') {
    status.pricing =
      e.type === 'template'
        ? { billable: true, pricing_model: 'PMP', type: 'regular', category: 'utility' }
        : { billable: false, pricing_model: 'PMP', type: 'free_customer_service', category: 'service' };
  }
  if (e.status === 'failed') status.errors = [statusError(e.errorCode ?? 131000)];
  return envelope(biz, { statuses: [status] });
}

export function inboundEnvelope(biz: Business, e: InboundEvent): Record<string, unknown> {
  const from = e.fromE164.slice(1);
  const message: Record<string, unknown> = { from, id: e.id, timestamp: seconds(e.at) };
  if (e.contextId !== undefined) message.context = { from: biz.displayPhoneNumber, id: e.contextId };
  if (e.buttonPayload !== undefined) {
    Object.assign(message, { type: 'button', button: { text: e.text, payload: e.buttonPayload } });
  } else {
    Object.assign(message, { type: 'text', text: { body: e.text } });
  }
  return envelope(biz, { contacts: [{ profile: { name: e.name }, wa_id: from }], messages: [message] });
}

/**
 * JSON as Meta puts it on the wire: non-ASCII escaped as \uXXXX with lower-case hex ("ä" →
 * "\u00e4"). The signature is over these bytes; a receiver that re-serialises fails to verify.
 */
export function metaJson(body: unknown): string {
  return JSON.stringify(body).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
