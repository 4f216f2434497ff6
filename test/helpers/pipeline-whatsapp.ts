// The pipeline with both channels: IO (sandbox) first, WhatsApp (sandbox) as the fallback, and
// Ponte's real webhook server receiving the WhatsApp sandbox's signed status webhooks.
import type { Logger } from 'pino';
import type { Knex } from 'knex';
import { makePipeline, type Pipeline } from './pipeline.js';
import type { Dialect } from './databases.js';
import type { IoSandboxOptions } from '../../src/sandbox/io/index.js';
import { startWhatsappSandbox, type WhatsappSandbox, type WhatsappSandboxOptions } from '../../src/sandbox/whatsapp/index.js';
import { WhatsappChannel } from '../../src/channels/whatsapp/index.js';
import { isOptedIn } from '../../src/store/consent.js';
import { broadcastAllowed } from '../../src/broadcast/consent.js';
import { highestStatus, wamidOfDelivery } from '../../src/store/whatsapp-statuses.js';
import { startHttpServer, type HttpServer } from '../../src/server/http-server.js';
import { whatsappWebhookRoutes } from '../../src/webhooks/whatsapp.js';
import { whatsappSchema, type DispatcherConfig } from '../../src/config/schema.js';
import type { ConnectorInstance } from '../../src/connectors/registry.js';
import type { CrashPoint } from '../../src/util/crash-point.js';

export const APP_SECRET = 'test-app-secret';
export const VERIFY_TOKEN = 'test-verify-token';

export interface WaPipeline extends Pipeline {
  wa: WhatsappChannel;
  waSandbox: WhatsappSandbox;
  server: HttpServer;
  webhookUrl: string;
}

export const ioThenWhatsapp: ConnectorInstance['settings']['deliver'] = {
  mode: 'first', listForm: false,
  channels: [
    { channel: 'appio', service: 'anagrafe' },
    { channel: 'whatsapp', template: 'promemoria', language: 'it', body: ['{{ what }}'], buttons: [] },
  ],
};

export const whatsappOnly: ConnectorInstance['settings']['deliver'] = {
  mode: 'first', listForm: false,
  channels: [{ channel: 'whatsapp', template: 'promemoria', language: 'it', body: ['{{ what }}'], buttons: [] }],
};

export async function makeWaPipeline(dialect: Dialect, opts: {
  io?: IoSandboxOptions; wa?: Partial<WhatsappSandboxOptions>; deliver?: ConnectorInstance['settings']['deliver'];
  pairSpacingMs?: number; throughputPerSecond?: number; timeoutMs?: number; cfg?: Partial<DispatcherConfig>;
  /** The webhook server's crash point, read at every hit (a test sets it, then clears it: the "restarted" process). */
  webhookCrash?: { point?: CrashPoint };
  /** The pipeline's logger (default: silent, or $PONTE_TEST_LOG). */
  log?: Logger;
  /** Approved translations per template (channels.whatsapp.templates' languages). */
  translations?: Record<string, string[]>;
} = {}): Promise<WaPipeline> {
  const waSandbox = await startWhatsappSandbox({ phoneNumberId: '106540352242922', token: 'wa-token', appSecret: APP_SECRET, statusDelayMs: 10, timeoutMs: 3000, ...opts.wa });
  let knex: Knex | undefined;
  const wa = new WhatsappChannel({
    graphUrl: waSandbox.url, version: 'v24.0', phoneNumberId: '106540352242922', tokenEnv: 'WA_TOKEN', env: { WA_TOKEN: 'wa-token' },
    timeoutMs: opts.timeoutMs ?? 1000, pairSpacingMs: opts.pairSpacingMs ?? 0, ...(opts.throughputPerSecond ? { throughputPerSecond: opts.throughputPerSecond } : {}),
    // As src/app/context.ts: broadcasts need the topic subscription, reminders the opt-in.
    consent: (p, ctx) => ctx.event.type === 'broadcast' ? broadcastAllowed(knex!, p, String(ctx.event.data.topic)) : isOptedIn(knex!, p),
    statuses: (w) => highestStatus(knex!, w),
    ...(opts.translations ? { translations: opts.translations } : {}),
    wamidOfDelivery: (id) => wamidOfDelivery(knex!, id),
  });
  const p = await makePipeline(dialect, { ...(opts.io ? { sandbox: opts.io } : {}), deliver: opts.deliver ?? ioThenWhatsapp, extraChannels: [wa], ...(opts.cfg ? { cfg: opts.cfg } : {}), ...(opts.log ? { log: opts.log } : {}) });
  knex = p.store.knex;
  const server = await startHttpServer(whatsappWebhookRoutes({
    knex, appSecret: APP_SECRET, verifyToken: VERIFY_TOKEN, cfg: whatsappSchema.parse({ phoneNumberId: '106540352242922' }), log: p.log,
    reply: (to, text) => wa.sendText(to, text),
    ...(opts.webhookCrash ? { crashPoint: (name) => opts.webhookCrash!.point?.(name) } : {}),
  }), { host: '127.0.0.1', port: 0, log: p.log });
  const webhookUrl = `${server.url}/webhooks/whatsapp`;
  waSandbox.setWebhookUrl(webhookUrl);
  const close = p.close;
  return Object.assign(p, {
    wa, waSandbox, server, webhookUrl,
    async close() {
      await server.close();
      wa.close();
      await waSandbox.close();
      await close();
    },
  });
}
