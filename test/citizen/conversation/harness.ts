// A citizen talking to the bot over real HTTP: the WhatsApp sandbox posts signed inbound webhooks
// to Ponte's webhook server (citizen service wired as in `ponte run`), Ponte answers through the
// WhatsApp channel into the sandbox, and a fake staff endpoint records what staff receive.
import { broadcastAllowed } from '../../../src/broadcast/consent.js';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { startWhatsappSandbox, type InboundOptions, type SandboxSend, type WhatsappSandbox } from '../../../src/sandbox/whatsapp/index.js';
import { WhatsappChannel } from '../../../src/channels/whatsapp/index.js';
import { isOptedIn } from '../../../src/store/consent.js';
import { highestStatus } from '../../../src/store/whatsapp-statuses.js';
import { startHttpServer, type Handler, type HttpServer } from '../../../src/server/http-server.js';
import { whatsappWebhookRoutes } from '../../../src/webhooks/whatsapp.js';
import { whatsappSchema } from '../../../src/config/schema.js';
import { loadCitizenService, parseCitizenService, type CitizenService } from '../../../src/citizen/service/index.js';
import { loadFaq } from '../../../src/citizen/faq/index.js';
import { StaffEndpoint, type StaffEvent } from '../../../src/citizen/handoff/staff-endpoint.js';
import { staffRoutes } from '../../../src/citizen/handoff/staff-routes.js';
import { channelSender } from '../../../src/citizen/conversation/index.js';
import { testStore, type TestStore } from '../../helpers/store.js';
import type { Dialect } from '../../helpers/databases.js';
import { readFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';

export const SERVICE_FILE = 'config/citizen-service.yaml';
export const FAQ_FILE = 'config/faq.yaml';
export const STAFF_TOKEN = 'staff-secret-token-4f9a2c7e';
const APP_SECRET = 'conv-app-secret';
const PHONE_NUMBER_ID = '106540352242922';

export interface FakeStaff {
  url: string;
  received: Array<{ auth: string | undefined; body: StaffEvent }>;
  close(): Promise<void>;
}

export async function startFakeStaff(): Promise<FakeStaff> {
  const received: FakeStaff['received'] = [];
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => { raw += c.toString(); });
    req.on('end', () => {
      received.push({ auth: req.headers.authorization, body: JSON.parse(raw) as StaffEvent });
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"ok":true}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/handoff`, received, close: () => new Promise((r) => server.close(() => r())) };
}

/** The real config/citizen-service.yaml, with the staff endpoint pointed at `staffUrl` (or removed: link only). */
export function serviceWith(staffUrl: string | null, edit?: (raw: any) => void): CitizenService {
  const raw = parse(readFileSync(SERVICE_FILE, 'utf8')) as any;
  if (staffUrl === null) delete raw.handoff.endpoint;
  else raw.handoff.endpoint = { url: staffUrl, tokenEnv: 'PONTE_HANDOFF_TOKEN' };
  edit?.(raw);
  return parseCitizenService(stringify(raw), SERVICE_FILE).service;
}

export interface Conversation {
  store: TestStore;
  sandbox: WhatsappSandbox;
  channel: WhatsappChannel;
  server: HttpServer;
  staff: FakeStaff;
  service: CitizenService;
  phone: string;
  /** Every log line Ponte wrote (debug and up), to check no phone number is in clear. */
  logLines: string[];
  /** The citizen types `text` (or taps, with opts.interactiveReply); resolves once Ponte's replies are sent. Returns them. */
  say(text: string, opts?: InboundOptions): Promise<SandboxSend[]>;
  /** Taps an option of an interactive message by id (its title is looked up in the last menu that had it). */
  tap(id: string): Promise<SandboxSend[]>;
  /** Staff's side: POST /staff/<path> on Ponte's server. */
  staffPost(path: 'reply' | 'close', body: unknown, token?: string): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

export async function startConversation(dialect: Dialect, opts: { staffEndpoint?: boolean; now?: () => number; service?: (staffUrl: string) => CitizenService } = {}): Promise<Conversation> {
  const store = await testStore(dialect);
  const knex = store.knex;
  const logLines: string[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => { logLines.push(line); } });
  const staff = await startFakeStaff();
  const service = opts.service ? opts.service(staff.url) : opts.staffEndpoint === false ? serviceWith(null) : serviceWith(staff.url);
  const env = { PONTE_HANDOFF_TOKEN: STAFF_TOKEN, WA_TOKEN: 'wa-token' };
  const sandbox = await startWhatsappSandbox({ phoneNumberId: PHONE_NUMBER_ID, token: 'wa-token', appSecret: APP_SECRET, statusDelayMs: 5 });
  const channel = new WhatsappChannel({
    graphUrl: sandbox.url, version: 'v24.0', phoneNumberId: PHONE_NUMBER_ID, tokenEnv: 'WA_TOKEN', env, timeoutMs: 2000,
    consent: (p, ctx) => ctx.event.type === 'broadcast' ? broadcastAllowed(knex, p, String(ctx.event.data.topic)) : isOptedIn(knex, p), statuses: (w) => highestStatus(knex, w),
  });
  const endpoint = service.handoff.endpoint;
  const staffClient = endpoint ? new StaffEndpoint({ url: endpoint.url, tokenEnv: endpoint.tokenEnv, env, log }) : undefined;
  const inFlight = new Set<Promise<void>>();
  const routes = whatsappWebhookRoutes({
    knex, appSecret: APP_SECRET, verifyToken: 'v', cfg: whatsappSchema.parse({ phoneNumberId: PHONE_NUMBER_ID }), log,
    reply: (to, text) => channel.sendText(to, text),
    citizen: { deps: { service, faq: loadFaq(FAQ_FILE), ...(opts.now ? { now: opts.now } : {}) }, send: channelSender(channel), ...(staffClient ? { staff: staffClient } : {}) },
  });
  // Track the work done after the 200 (replies, staff posts), so a step waits for its replies.
  const webhook = routes['POST /webhooks/whatsapp']!;
  const tracked: Handler = async (req, url, raw) => {
    const reply = await webhook(req, url, raw);
    if (reply.after) {
      const after = reply.after;
      let done!: () => void;
      const p = new Promise<void>((r) => { done = r; });
      inFlight.add(p);
      void p.then(() => inFlight.delete(p));
      reply.after = () => after().finally(done);
    }
    return reply;
  };
  const server = await startHttpServer({
    ...routes, 'POST /webhooks/whatsapp': tracked,
    ...(endpoint ? staffRoutes({ knex, tokenEnv: endpoint.tokenEnv, env, log, closedNotice: service.texts.handoffClosed, sendText: (to, text) => channel.sendText(to, text, { paced: false }), ...(opts.now ? { now: opts.now } : {}) }) : {}),
  }, { host: '127.0.0.1', port: 0, log });
  sandbox.setWebhookUrl(`${server.url}/webhooks/whatsapp`);
  const phone = '+393471234567';
  const conv: Conversation = {
    store, sandbox, channel, server, staff, service, phone, logLines,
    async say(text, o) {
      const before = sandbox.sends.length;
      await sandbox.inbound(phone, text, o);
      while (inFlight.size > 0) await Promise.all([...inFlight]);
      return sandbox.sends.slice(before);
    },
    async tap(id) {
      for (const s of [...sandbox.sends].reverse()) {
        const i = s.interactive;
        if (!i) continue;
        const options = i.type === 'button' ? i.action.buttons.map((b) => ({ kind: 'button_reply' as const, id: b.reply.id, title: b.reply.title })) : i.action.sections.flatMap((x) => x.rows.map((r) => ({ kind: 'list_reply' as const, id: r.id, title: r.title })));
        const o = options.find((x) => x.id === id);
        if (o) return conv.say(o.title, { interactiveReply: { kind: o.kind, id: o.id } });
      }
      throw new Error(`no interactive message offered option "${id}"`);
    },
    async staffPost(path, body, token = STAFF_TOKEN) {
      const res = await fetch(`${server.url}/staff/${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
      return { status: res.status, body: await res.json() };
    },
    async close() {
      await sandbox.idle();
      await server.close();
      channel.close();
      await sandbox.close();
      await staff.close();
      await store.close();
    },
  };
  return conv;
}

export { loadCitizenService };
