// The AppIO channel: delivers messages to the citizen's IO app through PagoPA's services API
// (or the local IO sandbox, which answers the same way). Behaviour and sources: appio.md.
import type { ClientRequest } from 'node:http';
import { isAxiosError, type AxiosInstance, type AxiosResponse } from 'axios';
import { providerHttp } from '../http-client.js';
import type { Logger } from 'pino';
import {
  ChannelError,
  type Channel,
  type DeliveryContext,
  type DescribedRequest,
  type Eligibility,
  type ProviderStatus,
  type RenderedMessage,
  type SendPermit,
} from '../channel.js';
import { RateWindow } from '../../util/rate-window.js';
import { classifyNetwork, classifyStatus, type IoCall } from './classify.js';
import { fiscalCodeRef, maskFiscalCodes } from './privacy.js';
import { operatorHint } from './operator-hint.js';

export interface OwnerLimit {
  requests: number;
  windowMs: number;
  /** Our safety margin on top of windowMs (network jitter). Default 250 ms. */
  marginMs?: number;
}

export interface AppioChannelOptions {
  /** e.g. https://api.io.pagopa.it/api/v1, or the sandbox's url. */
  baseUrl: string;
  /** IO services by name; each names the env variable holding its subscription key. */
  services: Record<string, { keyEnv: string; owner?: string }>;
  /** IO's limit per owner account (APIM user), shared by all its services. Default 150 per 5000 ms. */
  owners?: Record<string, OwnerLimit>;
  /** The service to use when ctx.options.service is absent. */
  defaultService?: string;
  /** Per request. Default 10000 ms. */
  timeoutMs?: number;
  /** Renders subject and markdown (templates live elsewhere); may throw. */
  render: (ctx: DeliveryContext, language?: string) => RenderedMessage;
  /** Default process.env. */
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  /** Clock for the reuse of a passed profile check (tests). */
  now?: () => number;
}

/**
 * IO's 150 calls per 5 s per owner (APIM policy, appio.md §3). A slot is held until the answer
 * (RateWindow), which covers network delay; the small margin only covers the window's edge.
 */
export const IO_DEFAULT_LIMIT: OwnerLimit = { requests: 150, windowMs: 5000, marginMs: 50 };
const DEFAULT_OWNER = 'default';

/** How long a passed profile check serves the retries of the same delivery, and how many are kept. */
const PROFILE_REUSE_MS = 10 * 60_000;
const PROFILE_REUSE_MAX = 10_000;

// IO's limits on content (MessageContentBase), counted in UTF-16 units as IO does.
const SUBJECT_LENGTH = { min: 10, max: 120 };
const MARKDOWN_LENGTH = { min: 80, max: 10000 };

interface Service {
  name: string;
  key: string;
  keyEnv: string;
  owner: string;
  limiter: RateWindow;
}

type IoStatus = 'ACCEPTED' | 'THROTTLED' | 'PROCESSED' | 'REJECTED' | 'FAILED';

export class AppioChannel implements Channel {
  readonly name = 'appio';
  /** Its requests go through providerHttp(): the send journal writes at their socket. */
  readonly requestsHooked = true;
  private readonly baseUrl: string;
  private readonly services = new Map<string, Service>();
  private readonly defaultService: string | undefined;
  private readonly http: AxiosInstance;
  private readonly closeHttp: () => void;
  private readonly renderMessage: AppioChannelOptions['render'];
  private readonly logger: Logger | undefined;
  /**
   * A passed profile check, by delivery, service and fiscal code: a send retried soon after (a 500,
   * a 429) reuses it. Re-checking on every retry spent IO's budget, shared with the sends, on the
   * same answer exactly when the budget was short. Only positive answers end here; the others end the delivery.
   */
  private readonly allowed = new Map<string, { at: number; eligibility: Eligibility }>();
  private readonly now: () => number;

  constructor(opts: AppioChannelOptions) {
    const env = opts.env ?? process.env;
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.renderMessage = opts.render;
    this.logger = opts.logger;
    this.now = opts.now ?? Date.now;

    const names = Object.keys(opts.services);
    if (names.length === 0) throw new Error('appio: no IO services configured (services is empty)');
    const limiters = new Map<string, RateWindow>();
    for (const [name, s] of Object.entries(opts.services)) {
      const key = env[s.keyEnv];
      if (!key) {
        throw new Error(
          `appio: the subscription key of IO service "${name}" is missing: set environment variable ${s.keyEnv}`,
        );
      }
      const owner = s.owner ?? DEFAULT_OWNER;
      let limiter = limiters.get(owner);
      if (!limiter) limiters.set(owner, (limiter = ownerLimiter(owner, opts.owners?.[owner])));
      this.services.set(name, { name, key, keyEnv: s.keyEnv, owner, limiter });
    }
    for (const owner of Object.keys(opts.owners ?? {})) {
      if (!limiters.has(owner)) throw new Error(`appio: owners.${owner} is not the owner of any service`);
    }
    if (opts.defaultService !== undefined && !this.services.has(opts.defaultService)) {
      throw new Error(`appio: defaultService "${opts.defaultService}" is not among the services (${names.join(', ')})`);
    }
    // With a single service there is nothing to choose.
    this.defaultService = opts.defaultService ?? (names.length === 1 ? names[0] : undefined);

    const client = providerHttp(opts.timeoutMs ?? 10_000);
    this.http = client.http;
    this.closeHttp = client.close;
  }

  render(ctx: DeliveryContext, language?: string): RenderedMessage {
    let message: RenderedMessage;
    try {
      message = this.renderMessage(ctx, language);
    } catch (err) {
      if (err instanceof ChannelError) throw err;
      throw new ChannelError(err instanceof Error ? err.message : String(err), 'permanent');
    }
    checkLength('subject', message.subject, SUBJECT_LENGTH);
    checkLength('markdown', message.markdown, MARKDOWN_LENGTH);
    // Checked here too, not only when the body is built: render is what a connector's batch check
    // runs, so a bad due date is a row error at poll time instead of a failed send.
    dueDate(ctx);
    return message;
  }

  async checkRecipient(ctx: DeliveryContext): Promise<Eligibility> {
    const service = this.serviceFor(ctx);
    const fiscalCode = ctx.event.recipient.fiscalCode;
    const key = `${ctx.deliveryId}:${service.name}:${fiscalCode}`;
    const seen = this.allowed.get(key);
    if (seen && this.now() - seen.at < PROFILE_REUSE_MS) return seen.eligibility;
    const eligibility = await this.checkProfile(ctx, service, fiscalCode);
    if (eligibility.ok) {
      this.allowed.delete(key);
      this.allowed.set(key, { at: this.now(), eligibility });
      // Insertion order is age order: the oldest go first, and so do the expired, which no retry
      // can reuse (kept, they held ~10,000 fiscal codes of long-finished deliveries in memory).
      const now = this.now();
      for (const [k, v] of this.allowed) { if (this.allowed.size <= PROFILE_REUSE_MAX && now - v.at < PROFILE_REUSE_MS) break; this.allowed.delete(k); }
    }
    return eligibility;
  }

  private async checkProfile(ctx: DeliveryContext, service: Service, fiscalCode: string): Promise<Eligibility> {
    const res = await this.call(ctx, 'profile', service, 'POST', '/profiles', { fiscal_code: fiscalCode });
    if (res.status === 404) return { ok: false, reason: 'io: no IO profile' };
    if (res.status !== 200) throw this.httpError(ctx, 'profile', service, 'POST /profiles', res);
    const profile = res.data as { sender_allowed?: unknown; preferred_languages?: unknown };
    if (typeof profile?.sender_allowed !== 'boolean') {
      throw new ChannelError('io: POST /profiles → 200 without sender_allowed', 'transient', { status: 200 });
    }
    if (!profile.sender_allowed) return { ok: false, reason: 'io: sender_allowed=false' };
    const preferred = Array.isArray(profile.preferred_languages) ? profile.preferred_languages[0] : undefined;
    // IO speaks "it_IT"; Ponte speaks ISO 639-1 ("it").
    if (typeof preferred !== 'string') return { ok: true };
    return { ok: true, language: preferred.split('_')[0]!.toLowerCase() };
  }

  describeSend(ctx: DeliveryContext, message: RenderedMessage): DescribedRequest {
    const service = this.serviceFor(ctx);
    return {
      method: 'POST',
      url: `${this.baseUrl}/messages`,
      headers: {
        'Content-Type': 'application/json',
        Accept: 'application/json',
        'Ocp-Apim-Subscription-Key': `<from $${service.keyEnv}>`,
      },
      body: messageBody(ctx, message),
    };
  }

  async reserveSend(ctx: DeliveryContext): Promise<SendPermit> {
    const release = await this.slot(ctx, this.serviceFor(ctx), 'POST /messages');
    return { release };
  }

  async send(ctx: DeliveryContext, message: RenderedMessage, permit?: SendPermit): Promise<{ providerId: string }> {
    const service = this.serviceFor(ctx);
    const res = await this.call(ctx, 'send', service, 'POST', '/messages', messageBody(ctx, message), permit);
    if (res.status < 200 || res.status >= 300) throw this.httpError(ctx, 'send', service, 'POST /messages', res);
    // IO answers 201 {id} with Location: /api/v1/messages/{fiscal_code}/{id}.
    const body = res.data as { id?: unknown } | undefined;
    const location = typeof res.headers.location === 'string' ? res.headers.location : '';
    const id = typeof body?.id === 'string' && body.id ? body.id : location.split('/').filter(Boolean).pop();
    if (!id) {
      // Something was accepted, but without an id it cannot be tracked: do not send it again.
      throw new ChannelError(`io: POST /messages → ${res.status} without a message id`, 'uncertain', {
        status: res.status,
      });
    }
    return { providerId: id };
  }

  async status(ctx: DeliveryContext, providerId: string): Promise<ProviderStatus> {
    const service = this.serviceFor(ctx);
    const fc = encodeURIComponent(ctx.event.recipient.fiscalCode);
    const path = `/messages/${fc}/${encodeURIComponent(providerId)}`;
    const label = `GET /messages/{fiscal_code}/${providerId}`;
    const res = await this.call(ctx, 'status', service, 'GET', path);
    if (res.status !== 200) throw this.httpError(ctx, 'status', service, label, res);
    const status = (res.data as { status?: IoStatus } | undefined)?.status;
    switch (status) {
      case 'PROCESSED':
        return { state: 'processed' };
      case 'REJECTED':
        return { state: 'rejected', reason: 'io: REJECTED' };
      case 'FAILED':
        return { state: 'failed', reason: 'io: FAILED' };
      case 'ACCEPTED':
      case 'THROTTLED':
        return { state: 'accepted' };
      default:
        // Not in IO's enum: keep polling rather than guess an outcome.
        this.logger?.warn({ providerId, status }, 'io: unknown message status, treated as still accepted');
        return { state: 'accepted' };
    }
  }

  /**
   * Several Ponte processes share one IO owner account (IO counts per owner, not per process):
   * each process sends within `fraction` of each owner's limit (see src/store/processes.ts).
   */
  setShare(fraction: number): void {
    const owners = new Map([...this.services.values()].map((s) => [s.owner, s.limiter]));
    for (const limiter of owners.values()) limiter.setLimit(limiter.configuredLimit * fraction);
  }

  /** Passed profile checks kept for retries (a bound the tests check). */
  get profileChecksKept(): number {
    return this.allowed.size;
  }

  /** Each owner's limiter, for metrics: total time calls waited for a slot, and calls waiting now. */
  rateLimiters(): Array<{ owner: string; waitedMs: number; waiting: number }> {
    const owners = new Map([...this.services.values()].map((s) => [s.owner, s.limiter]));
    return [...owners].map(([owner, l]) => ({ owner, waitedMs: l.waitedMs, waiting: l.pending }));
  }

  /** The IO service a delivery is sent by: a 401 halts that service only. */
  partOf(ctx: DeliveryContext): string | undefined {
    const chosen = this.chosenService(ctx);
    return typeof chosen === 'string' ? chosen : undefined;
  }

  /** The service a delivery asks for (its event type's option, else the default), unchecked. */
  private chosenService(ctx: DeliveryContext): unknown {
    return ctx.options.service ?? this.defaultService;
  }

  /** Close the pooled keep-alive connections (tests, shutdown). */
  close(): void {
    this.closeHttp();
  }

  private serviceFor(ctx: DeliveryContext): Service {
    const chosen = this.chosenService(ctx);
    if (typeof chosen !== 'string') {
      throw new ChannelError(
        `io: no IO service for event type "${ctx.event.type}": set options.service or defaultService`,
        'permanent',
      );
    }
    const service = this.services.get(chosen);
    if (!service) {
      throw new ChannelError(
        `io: unknown IO service "${chosen}" (configured: ${[...this.services.keys()].join(', ')})`,
        'permanent',
      );
    }
    return service;
  }

  /** One IO request: wait for the owner's rate window, send, turn 429s and network errors into ChannelErrors. */
  private async call(
    ctx: DeliveryContext,
    call: IoCall,
    service: Service,
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
    permit?: SendPermit,
  ): Promise<AxiosResponse> {
    const label = call === 'status' ? 'GET /messages/{fiscal_code}/{id}' : `${method} ${path}`;
    const answered = permit ? () => permit.release() : await this.slot(ctx, service, label);
    const started = Date.now();
    let res: AxiosResponse;
    try {
      res = await this.http.request({
        method,
        url: this.baseUrl + path,
        data: body,
        headers: { 'Ocp-Apim-Subscription-Key': service.key },
        signal: ctx.signal,
      });
    } catch (err) {
      throw this.networkError(ctx, call, label, err);
    } finally {
      answered(); // the owner's slot ages from the answer (see RateWindow)
    }
    const log = {
      call,
      service: service.name,
      fc: fiscalCodeRef(ctx.event.recipient.fiscalCode),
      status: res.status,
      ms: Date.now() - started,
    };
    if (res.status === 429) {
      // APIM names the header x-rate-limit-retry-after (seconds); hold the owner's other calls too.
      const seconds = Number(res.headers['x-rate-limit-retry-after']);
      const retryAfterMs = Number.isFinite(seconds) && seconds > 0 ? Math.ceil(seconds * 1000) : 1000;
      service.limiter.pauseUntil(Date.now() + retryAfterMs);
      this.logger?.warn({ ...log, owner: service.owner, retryAfterMs }, 'io: rate limited (429)');
      throw new ChannelError(`io: ${label} → 429 too many requests, retry in ${retryAfterMs} ms`, 'transient', {
        status: 429,
        retryAfterMs,
      });
    }
    this.logger?.debug(log, 'io: call');
    return res;
  }

  /** Wait for the owner's rate window; the function returned gives the slot back (it ages from then). */
  private async slot(ctx: DeliveryContext, service: Service, label: string): Promise<() => void> {
    try {
      return await service.limiter.acquire(ctx.signal);
    } catch {
      throw new ChannelError(`io: ${label} aborted before it was sent`, 'transient', { code: 'ABORTED' });
    }
  }

  private httpError(ctx: DeliveryContext, call: IoCall, service: Service, label: string, res: AxiosResponse): ChannelError {
    // IO's errors are ProblemJson {title, detail}; APIM's are {statusCode, message}.
    const data = (res.data ?? {}) as { title?: unknown; detail?: unknown; message?: unknown };
    const text = [data.title, data.detail ?? data.message].filter((s) => typeof s === 'string' && s).join(': ');
    const hint = operatorHint(call, res.status, service);
    const message = `io: ${label} → ${res.status}${text ? ` ${text}` : ''}${hint ? ` — ${hint}` : ''}`;
    const errorClass = classifyStatus(call, res.status);
    // A refused key is that service's: the owner's other services go on (see partOf).
    const part = errorClass === 'halt' ? { part: service.name } : {};
    return new ChannelError(maskFiscalCodes(message, ctx.event.recipient.fiscalCode), errorClass, { status: res.status, ...part });
  }

  private networkError(ctx: DeliveryContext, call: IoCall, label: string, err: unknown): ChannelError {
    if (!isAxiosError(err)) {
      return new ChannelError(`io: ${label} failed: ${String(err)}`, classifyNetwork(call, undefined, true));
    }
    const code = err.code ?? 'UNKNOWN';
    // Whether the whole request had been written: if not, IO cannot have acted on it.
    const sent = (err.request as ClientRequest | undefined)?.writableFinished === true;
    const errorClass = classifyNetwork(call, code, sent);
    const what =
      code === 'ETIMEDOUT' ? 'timed out' : code === 'ERR_CANCELED' ? 'was aborted' : `failed (${err.message})`;
    const consequence = errorClass === 'uncertain' ? ' after it was sent: IO may have created the message' : '';
    const message = `io: ${label} ${what}${consequence}`;
    return new ChannelError(maskFiscalCodes(message, ctx.event.recipient.fiscalCode), errorClass, { code });
  }
}

/** One limiter per owner account: IO counts all its services' calls together. */
function ownerLimiter(owner: string, limit: OwnerLimit | undefined): RateWindow {
  try {
    return new RateWindow({ ...IO_DEFAULT_LIMIT, ...limit });
  } catch (err) {
    throw new Error(`appio: owners.${owner}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function checkLength(field: 'subject' | 'markdown', value: string, limits: { min: number; max: number }): void {
  if (typeof value !== 'string' || value.length < limits.min || value.length > limits.max) {
    const got = typeof value === 'string' ? `${value.length} characters` : `a ${typeof value}`;
    const rule = `${limits.min}..${limits.max} characters`;
    throw new ChannelError(`io: the ${field} must be ${rule}, it is ${got}`, 'permanent');
  }
}

/** The POST /messages body: fiscal code in the body (the path form is deprecated). */
function messageBody(ctx: DeliveryContext, message: RenderedMessage): Record<string, unknown> {
  const content: Record<string, unknown> = { subject: message.subject, markdown: message.markdown };
  const due = dueDate(ctx);
  if (due !== undefined) content.due_date = due;
  return { fiscal_code: ctx.event.recipient.fiscalCode, content };
}

function dueDate(ctx: DeliveryContext): string | undefined {
  const due = ctx.event.data.io_due_date;
  return due === undefined || due === null ? undefined : ioTimestamp(due);
}

/**
 * IO wants an instant in UTC ("2026-03-01T22:59:59.000Z"). A bare date is ambiguous, and so is a
 * date-time without its offset: JavaScript would read it in the server's own time zone, an hour
 * or two away from the Italian wall-clock time the back-office meant.
 */
function ioTimestamp(value: unknown): string {
  const date =
    value instanceof Date
      ? value
      : typeof value === 'string' && /\dT\d.*(Z|[+-]\d\d:?\d\d)$/i.test(value)
        ? new Date(value)
        : undefined;
  if (!date || Number.isNaN(date.getTime())) {
    throw new ChannelError(
      `io: data.io_due_date must be a date-time with its offset (e.g. 2026-03-01T23:59:59+01:00 or 2026-03-01T22:59:59Z), got ${JSON.stringify(value)}`,
      'permanent',
    );
  }
  return date.toISOString();
}
