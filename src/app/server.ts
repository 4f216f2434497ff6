// The HTTP side of a running Ponte: the WhatsApp webhook (when WhatsApp is configured), the
// liveness and readiness probes and /metrics. In sandbox mode the fake Cloud API is pointed at it.
import type { AppContext } from './context.js';
import { startHttpServer, type Handler, type HttpServer } from '../server/http-server.js';
import { replySender, whatsappWebhookRoutes } from '../webhooks/whatsapp.js';
import { sweepReplies } from '../webhooks/send-replies.js';
import type { WhatsappChannel } from '../channels/whatsapp/index.js';
import { PonteMetrics, observabilityRoutes } from '../metrics/index.js';
import { citizenServiceWiring } from '../citizen/conversation/wiring.js';
import type { CrashPoint } from '../util/crash-point.js';

export async function startAppServer(app: AppContext, opts: { wake?: () => void; port?: number; metrics?: PonteMetrics; env?: NodeJS.ProcessEnv; crashPoint?: CrashPoint | undefined } = {}): Promise<HttpServer | null> {
  const { config } = app;
  if (!config.server.enabled) return null;
  const routes: Record<string, Handler> = {
    'GET /healthz': async () => ({ status: 200, body: { status: 'ok' } }),
    // Without the daemon's metrics (e.g. `ponte demo`) only the store's facts have values.
    ...observabilityRoutes(opts.metrics ?? new PonteMetrics({ store: app.store, channels: app.channels }), { store: app.store, channels: [...app.channels.keys()] }),
  };
  let sweeper: NodeJS.Timeout | undefined;
  const wa = config.channels.whatsapp;
  const channel = app.channels.get('whatsapp') as WhatsappChannel | undefined;
  if (wa && channel && app.whatsappSecrets) {
    // The citizens' WhatsApp service, when configured: the engine answers, staff reach citizens through /staff/*.
    const citizen = citizenServiceWiring(app.config, channel, app.store.knex, app.log, opts.env ?? process.env);
    if (citizen) Object.assign(routes, citizen.routes);
    const webhook = {
      ...(citizen ? { citizen: citizen.hook } : {}),
      knex: app.store.knex,
      ...app.whatsappSecrets,
      cfg: wa,
      log: app.log,
      reply: (to: string, text: string) => channel.sendText(to, text),
      ...(opts.wake ? { wake: opts.wake } : {}),
      crashPoint: opts.crashPoint,
    };
    Object.assign(routes, whatsappWebhookRoutes(webhook));
    // Replies left in the outbox (a kill after a message's commit, a failed send) go out here.
    const send = replySender(webhook);
    const sweep = () => sweepReplies(app.store.knex, send, app.log).catch((e: unknown) => app.store.outage?.report(e) || app.log.warn({ err: e }, 'reply outbox sweep failed; the next one retries'));
    void sweep();
    sweeper = setInterval(() => void sweep(), REPLY_SWEEP_MS);
    sweeper.unref();
  }
  const server = await startHttpServer(routes, { host: config.server.host, port: opts.port ?? config.server.port, log: app.log, name: 'HTTP server (server.host / server.port in the config, or ponte run --port)',
    storeAway: (e) => app.store.outage?.report(e) ?? false });
  app.whatsappSandbox?.setWebhookUrl(`${server.url}/webhooks/whatsapp`);
  app.log.info({ url: server.url, webhook: Boolean(routes['POST /webhooks/whatsapp']) }, 'HTTP server listening');
  return { url: server.url, close: async () => { clearInterval(sweeper); await server.close(); } };
}

const REPLY_SWEEP_MS = 15_000;
