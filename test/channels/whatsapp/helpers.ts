// Wiring shared by the WhatsApp tests: the sandbox, a channel pointed at it with a token from a
// private env, and a webhook receiver built from the channel's own helpers (signature check,
// parsing, highest status per wamid), as the real webhook server will be.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { DeliveryContext } from '../../../src/channels/channel.js';
import {
  WhatsappChannel,
  parseWebhook,
  verifySignature,
  type InboundMessage,
  type StoredStatus,
  type WhatsappChannelOptions,
} from '../../../src/channels/whatsapp/index.js';
import { startWhatsappSandbox, type WhatsappSandbox, type WhatsappSandboxOptions } from '../../../src/sandbox/whatsapp/index.js';

export const PHONE_NUMBER_ID = '106540352242922';
export const TOKEN = 'EAAG-test-token-never-logged';
export const APP_SECRET = 'test-app-secret';
export const ENV = { WHATSAPP_TOKEN: TOKEN };

/** The n-th of a family of valid Italian mobile numbers, E.164: +39 347 000 nnnn. */
export function mobile(n: number): string {
  return `+39347${String(n).padStart(7, '0')}`;
}

/** A raw fixture file (Meta's own webhook examples), bytes as on the wire. */
export function fixture(name: string): Buffer {
  return readFileSync(new URL(`../../fixtures/whatsapp/${name}`, import.meta.url));
}

export const MAPPING = {
  template: 'promemoria_appuntamento',
  language: 'it',
  body: ['{{ start | datetime }}', '{{ office | default("Comune") }}'],
  buttons: [{ type: 'quick_reply', index: 0, value: 'ANNULLA:{{ booking }}' }],
};

export const DATA = { start: '2026-12-03T10:30', office: 'Anagrafe centrale', booking: 'PRT-42' };

export function delivery(
  phone: string | undefined,
  options: Record<string, unknown> = MAPPING,
  data: Record<string, unknown> = DATA,
  over: Partial<DeliveryContext> = {},
): DeliveryContext {
  return {
    deliveryId: 7,
    attempt: 1,
    event: {
      id: 1,
      key: 'ev-1',
      type: 'appointment.reminder',
      recipient: { fiscalCode: 'RSSMRA80A01H501U', ...(phone !== undefined ? { phone } : {}) },
      data,
    },
    options,
    ...over,
  };
}

export function makeChannel(graphUrl: string, over: Partial<WhatsappChannelOptions> = {}): WhatsappChannel {
  return new WhatsappChannel({
    graphUrl,
    version: 'v24.0',
    phoneNumberId: PHONE_NUMBER_ID,
    tokenEnv: 'WHATSAPP_TOKEN',
    env: ENV,
    consent: async () => true,
    statuses: async () => null,
    ...over,
  });
}

export function startSandbox(over: Partial<WhatsappSandboxOptions> = {}): Promise<WhatsappSandbox> {
  return startWhatsappSandbox({ phoneNumberId: PHONE_NUMBER_ID, token: TOKEN, appSecret: APP_SECRET, ...over });
}

const RANK: Record<StoredStatus['status'], number> = { sent: 1, delivered: 2, read: 3, failed: 4 };

/** A webhook receiver as the real server will be: verify the raw bytes, parse, keep the highest status. */
export interface Receiver {
  url: string;
  /** Highest status per wamid (failed wins: it is final). */
  stored: Map<string, StoredStatus>;
  inbound: InboundMessage[];
  /** Every POST: whether its signature verified, and its raw body. */
  posts: Array<{ verified: boolean; raw: Buffer }>;
  /** The status answered (default 200). */
  answer: number;
  statuses: WhatsappChannelOptions['statuses'];
  close(): Promise<void>;
}

export async function startReceiver(appSecret = APP_SECRET): Promise<Receiver> {
  const receiver: Receiver = {
    url: '',
    stored: new Map(),
    inbound: [],
    posts: [],
    answer: 200,
    statuses: async (wamid) => receiver.stored.get(wamid) ?? null,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const verified = verifySignature(raw, req.headers['x-hub-signature-256'] as string | undefined, appSecret);
      receiver.posts.push({ verified, raw });
      if (verified) {
        const { statuses, messages } = parseWebhook(JSON.parse(raw.toString('utf8')));
        for (const s of statuses) {
          if (s.status === 'played') continue;
          const before = receiver.stored.get(s.wamid);
          if (!before || RANK[s.status] > RANK[before.status]) {
            receiver.stored.set(s.wamid, {
              status: s.status,
              ...(s.errorCode !== undefined ? { errorCode: s.errorCode } : {}),
              ...(s.errorTitle !== undefined ? { errorTitle: s.errorTitle } : {}),
            });
          }
        }
        receiver.inbound.push(...messages);
      }
      res.writeHead(verified ? receiver.answer : 401).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('receiver: no address');
  receiver.url = `http://127.0.0.1:${address.port}/webhook`;
  return receiver;
}

/** The most requests whose arrival times fall within any `windowMs` (a sliding window). */
export function maxInAnyWindow(times: number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let max = 0;
  for (let i = 0, j = 0; j < sorted.length; j++) {
    while (sorted[j]! - sorted[i]! >= windowMs) i++;
    max = Math.max(max, j - i + 1);
  }
  return max;
}
