// The WhatsApp sandbox: a local, faithful fake of Meta's Cloud API send endpoint and of its
// webhooks, for tests, the demo and dry runs. What it mimics, and where from: whatsapp.md.
// POST /{version}/{phone-number-id}/messages: token, throughput, payload rules, the 24 h
// window, the pair rate limit; then, asynchronously, signed status webhooks.
import { listen } from '../../server/listen.js';
import { readBody } from '../../server/read-body.js';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { inboundEnvelope, statusEnvelope, type Business, type StatusEvent } from './envelope.js';
import { codelessError, graphError, type Reply } from './errors.js';
import { Faults, type FailOptions, type FaultKind } from './faults.js';
import { validateSend } from './payload.js';
import { Throughput, WhatsappState, wamid, type SandboxSend } from './state.js';
import { WebhookSender, type SignatureMode, type WebhookDelivery } from './webhooks.js';
import { keepLast } from '../recorded.js';

export interface WhatsappSandboxOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: a random free port. */
  port?: number;
  /** Graph API version served. Default v24.0. */
  version?: string;
  phoneNumberId: string;
  /** The only Bearer token accepted. */
  token: string;
  /** Signs the webhooks. */
  appSecret: string;
  /** Where webhooks are posted; can be set later with setWebhookUrl. */
  webhookUrl?: string;
  /** E.164 numbers not on WhatsApp: the send is accepted, then status sent → failed 131026. */
  notOnWhatsapp?: string[];
  /**
   * The approved templates, as Meta holds them: a send of another name or language is refused
   * with 132001, one with another number of body parameters with 132000. Default: any accepted.
   */
  templates?: Record<string, { languages: string[]; params: number }>;
  /** E.164 numbers whose messages are accepted, then end sent → failed with this Meta code (131049, 132001, 470 …). */
  failedStatus?: Record<string, number>;
  /** Gap between one status webhook of a message and the next. Default 50 ms. */
  statusDelayMs?: number;
  /** duplicate: every status webhook is posted twice; reorder: a message's statuses are posted latest first. */
  statuses?: { duplicate?: boolean; reorder?: boolean };
  /** Enforce one message per this many ms per recipient (131056). Default: not enforced. */
  pairLimitMs?: number;
  /** Enforce this many requests per second (130429). Default: not enforced. */
  throughputPerSecond?: number;
  /** How long a `timeout` fault withholds the answer. Default 30000 ms. */
  timeoutMs?: number;
  /** How many served requests `requests` keeps, the latest (default: all; the embedded sandbox keeps EMBEDDED_KEEP_REQUESTS). */
  keepRequests?: number;
  /** Shown in webhooks. Defaults as in Meta's examples. */
  wabaId?: string;
  displayPhoneNumber?: string;
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** The parsed JSON body, when there was one. */
  body?: unknown;
  /** The status sent (or to be sent, for a withheld answer); 0 when the socket was reset. */
  status: number;
  /** The Graph error code answered, if any. */
  code?: number;
  injected?: FaultKind;
  /** Arrival time, epoch ms. */
  at: number;
}

export interface InboundOptions {
  /** Profile name in contacts[]. Default "Cittadino". */
  name?: string;
  /** A tap on a quick-reply button with this payload (type "button") instead of typed text. */
  buttonPayload?: string;
  /** The wamid of our message being answered (context.id). */
  contextId?: string;
  /** A tap on a row of an interactive list or on a reply button (type "interactive"); `text` is its title. */
  interactiveReply?: { kind: 'list_reply' | 'button_reply'; id: string };
}

export interface WhatsappSandbox {
  /** Base URL, e.g. http://127.0.0.1:41234 (the channel's graphUrl). */
  readonly url: string;
  /** Every accepted message. */
  readonly sends: SandboxSend[];
  readonly requests: RecordedRequest[];
  /** Every webhook posted, with the receiver's answer. */
  readonly webhooks: WebhookDelivery[];
  setWebhookUrl(url: string): void;
  /** Meta's retry of every webhook the receiver did not answer 200 (once each). */
  retryFailedWebhooks(): Promise<WebhookDelivery[]>;
  /** A citizen writes `text`: posts the inbound webhook and opens the 24 h window. Returns the message id. */
  inbound(fromE164: string, text: string, opts?: InboundOptions): Promise<string>;
  /** Posts any body to the webhook url, signed as asked (tests of the receiver). */
  postWebhook(body: unknown, opts?: { signature?: SignatureMode }): Promise<WebhookDelivery>;
  /** The next `count` message requests fail: with Graph error `code` (null: a codeless page), a timeout or a reset. */
  failNext(count: number, code: number | null, opts?: FailOptions): void;
  /** Requests admitted by the throughput check, its peak in any 1 s window, and real 130429s. */
  stats(): { accepted: number; maxInAnyWindow: number; limited: number };
  /** Resolves when no webhook is scheduled or in flight. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 1024 * 1024;
const E164 = /^\+[1-9]\d{6,14}$/;

/** Turns the typed-text message of an inbound envelope into a tap on an interactive row or button, as Meta sends it. */
function tapInteractive(body: Record<string, unknown>, reply: NonNullable<InboundOptions['interactiveReply']>, title: string): void {
  const message = (body as { entry: Array<{ changes: Array<{ value: { messages: Array<Record<string, unknown>> } }> }> }).entry[0]!.changes[0]!.value.messages[0]!;
  delete message.text;
  delete message.button;
  message.type = 'interactive';
  message.interactive = { type: reply.kind, [reply.kind]: { id: reply.id, title } };
}

/** Meta's answer to a template it has not approved as sent (§1): 132001 for the name or language, 132000 for the parameter count. */
function templateRefusal(t: { name: string; language: { code: string }; components?: Array<{ type: string; parameters?: unknown[] }> | undefined }, approved: WhatsappSandboxOptions['templates']): Reply | undefined {
  if (!approved) return undefined;
  const a = approved[t.name];
  if (!a || !a.languages.includes(t.language.code)) return graphError(132001, `template name (${t.name}) does not exist in ${t.language.code}`);
  const given = t.components?.find((c) => c.type === 'body')?.parameters?.length ?? 0;
  if (given !== a.params) return graphError(132000, `body: number of localizable_params (${given}) does not match the expected number of params (${a.params})`);
  return undefined;
}

export async function startWhatsappSandbox(opts: WhatsappSandboxOptions): Promise<WhatsappSandbox> {
  const version = opts.version ?? 'v24.0';
  const messagesPath = `/${version}/${opts.phoneNumberId}/messages`;
  const biz: Business = {
    wabaId: opts.wabaId ?? '102290129340398',
    displayPhoneNumber: opts.displayPhoneNumber ?? '15550783881',
    phoneNumberId: opts.phoneNumberId,
  };
  const statusDelayMs = opts.statusDelayMs ?? 50;
  const notOnWhatsapp = new Set(opts.notOnWhatsapp ?? []);
  const state = new WhatsappState();
  const throughput = new Throughput(opts.throughputPerSecond);
  const faults = new Faults();
  const webhooks = new WebhookSender(opts.appSecret, opts.webhookUrl);
  const requests: RecordedRequest[] = [];
  const withheld = new Set<NodeJS.Timeout>();

  /** Graph checks the token before anything else. */
  function authorize(header: string | undefined): Reply | undefined {
    if (!header?.startsWith('Bearer ')) {
      return graphError(190, 'An active access token must be used to query information about the current user.');
    }
    if (header.slice('Bearer '.length) !== opts.token) return graphError(190, 'Invalid OAuth access token - Cannot parse access token');
    return undefined;
  }

  /** The Cloud API proper, once the request is authorised, routed and within throughput. */
  function handleSend(raw: string): Reply {
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      return graphError(100, 'The request body is not valid JSON.');
    }
    const checked = validateSend(json);
    if (!checked.ok) return graphError(checked.invalid.code, checked.invalid.details);
    const request = checked.request;
    const refused = request.type === 'template' ? templateRefusal(request.template, opts.templates) : undefined;
    if (refused) return refused;
    const now = Date.now();
    if (request.type === 'text' && !state.windowOpen(request.to, now)) return graphError(131047);
    if (opts.pairLimitMs !== undefined && state.pairWaitMs(request.to, opts.pairLimitMs, now) > 0) return graphError(131056);

    const send = state.accept(request, now, checked.message);
    scheduleStatuses(send);
    return {
      status: 200,
      body: {
        messaging_product: 'whatsapp',
        contacts: [{ input: request.to, wa_id: request.to.slice(1) }],
        messages: [{ id: send.wamid }],
      },
    };
  }

  /** sent → delivered → read, or sent → failed (131026 for a number not on WhatsApp, or the code failedStatus gives). */
  function scheduleStatuses(send: SandboxSend): void {
    // Every free-form message is billed as service, like text.
    const base = { wamid: send.wamid, to: send.to, type: send.type === 'template' ? ('template' as const) : ('text' as const), ...(send.opaque !== undefined ? { opaque: send.opaque } : {}) };
    const failCode = notOnWhatsapp.has(send.to) ? 131026 : opts.failedStatus?.[send.to];
    const names: StatusEvent['status'][] = failCode !== undefined ? ['sent', 'failed'] : ['sent', 'delivered', 'read'];
    // Timestamps keep the true order even when the posting order is shuffled.
    let bodies = names.map((status, i) =>
      statusEnvelope(biz, { ...base, status, at: send.at + (i + 1) * statusDelayMs, ...(status === 'failed' ? { errorCode: failCode! } : {}) }),
    );
    if (opts.statuses?.reorder) bodies = bodies.reverse();
    if (opts.statuses?.duplicate) bodies = bodies.flatMap((b) => [b, b]);
    webhooks.sequence('status', bodies, statusDelayMs);
  }

  function reply(res: ServerResponse, record: RecordedRequest, r: Reply): void {
    record.status = r.status;
    const code = (r.body as { error?: { code?: number } } | undefined)?.error?.code;
    if (code !== undefined) record.code = code;
    send(res, r);
  }

  function send(res: ServerResponse, r: Reply): void {
    if (res.destroyed || res.headersSent) return;
    res.writeHead(r.status, { 'Content-Type': 'application/json', ...r.headers });
    res.end(r.text ?? (r.body === undefined ? '' : JSON.stringify(r.body)));
  }

  async function onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const at = Date.now();
    const method = req.method ?? 'GET';
    const path = new URL(req.url ?? '/', 'http://sandbox').pathname;
    // An oversized body reads as none: the request is then refused as malformed.
    const raw = (await readBody(req, MAX_BODY_BYTES))?.toString('utf8') ?? '';
    const record: RecordedRequest = { method, path, headers: req.headers, status: 0, at };
    try {
      record.body = JSON.parse(raw);
    } catch {
      // kept out of the record; handleSend answers it
    }
    keepLast(requests, record, opts.keepRequests ?? Infinity);

    // A citizen writing, for a person trying a running `ponte run` by hand: what the tests do
    // through inbound(), over HTTP (curl … /_sandbox/inbound -d '{"from":"+39…","text":"Ciao"}').
    if (method === 'POST' && path === '/_sandbox/inbound') {
      const b = (record.body ?? {}) as { from?: unknown; text?: unknown };
      if (typeof b.from !== 'string' || !E164.test(b.from) || typeof b.text !== 'string' || b.text === '') {
        return reply(res, record, { status: 400, body: { error: 'expected {"from": "+39…" (E.164), "text": "…"}' } });
      }
      const id = await sandbox.inbound(b.from, b.text);
      return reply(res, record, { status: 200, body: { id } });
    }
    // What the sandbox received (what a citizen would have got), for the same person.
    if (method === 'GET' && path === '/_sandbox/sends') {
      return reply(res, record, { status: 200, body: state.sends.map((x) => ({ at: new Date(x.at).toISOString(), to: x.to, type: x.type, text: x.text, template: x.template?.name, menu: x.interactive?.body?.text })) });
    }

    const denied = authorize(req.headers.authorization);
    if (denied) return reply(res, record, denied);
    if (method !== 'POST' || path !== messagesPath) {
      return reply(res, record, graphError(100, `Unsupported ${method.toLowerCase()} request. This sandbox serves POST ${messagesPath}.`));
    }
    if (!throughput.admit(at)) return reply(res, record, graphError(130429));

    const fault = faults.pick();
    if (fault) record.injected = fault.kind;
    if (fault?.kind === 'reset') {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'error') {
      return reply(res, record, fault.code === null ? codelessError(fault.httpStatus ?? 500) : graphError(fault.code, undefined, fault.httpStatus));
    }
    const result = handleSend(raw);
    if (fault?.kind !== 'timeout') return reply(res, record, result);
    // The message exists (its webhooks will come) but the sender will not hear of it in time.
    record.status = result.status;
    const timer = setTimeout(() => {
      withheld.delete(timer);
      send(res, result);
    }, opts.timeoutMs ?? 30_000);
    withheld.add(timer);
  }

  const server = createServer((req, res) => {
    onRequest(req, res).catch((err: unknown) => send(res, { status: 500, body: { error: { message: `sandbox bug: ${String(err)}` } } }));
  });
  const listening = await listen(server, opts.host ?? '127.0.0.1', opts.port ?? 0, 'WhatsApp sandbox');

  const sandbox: WhatsappSandbox = {
    url: listening.origin,
    sends: state.sends,
    requests,
    webhooks: webhooks.deliveries,
    setWebhookUrl: (url) => {
      webhooks.url = url;
    },
    async inbound(fromE164, text, o = {}) {
      if (!E164.test(fromE164)) throw new Error('WhatsApp sandbox: inbound() needs an E.164 number with "+"');
      const id = wamid();
      const now = Date.now();
      // Open the window first: the receiver may answer from inside its webhook handler.
      state.openWindow(fromE164, now);
      const body = inboundEnvelope(biz, {
        id,
        fromE164,
        name: o.name ?? 'Cittadino',
        at: now,
        text,
        ...(o.buttonPayload !== undefined ? { buttonPayload: o.buttonPayload } : {}),
        ...(o.contextId !== undefined ? { contextId: o.contextId } : {}),
      });
      if (o.interactiveReply) tapInteractive(body, o.interactiveReply, text);
      await webhooks.post('inbound', body);
      return id;
    },
    postWebhook: (body, o = {}) => webhooks.post('custom', body, o.signature ?? 'valid'),
    failNext: (count, code, o) => faults.failNext(count, code, o),
    stats: () => ({ accepted: throughput.accepted, maxInAnyWindow: throughput.maxInAnyWindow, limited: throughput.limited }),
    retryFailedWebhooks: () => webhooks.retryFailed(),
    idle: () => webhooks.idle(),
    close: () => {
      for (const t of withheld) clearTimeout(t);
      withheld.clear();
      webhooks.close();
      return listening.close();
    },
  };
  return sandbox;
}
