// The WhatsApp channel: approved template messages through Meta's Cloud API (or the local
// WhatsApp sandbox, which answers the same way). Behaviour and sources: whatsapp.md.
// Delivery is only known from webhooks: status() reads what the webhook receiver stored.
import { setTimeout as sleep } from 'node:timers/promises';
import type { ClientRequest } from 'node:http';
import { isAxiosError, type AxiosInstance, type AxiosResponse } from 'axios';
import { providerHttp } from '../http-client.js';
import type { CountryCode } from 'libphonenumber-js';
import type { Logger } from 'pino';
import {
  ChannelError,
  type Channel,
  type ChannelMessage,
  type DeliveryContext,
  type DescribedRequest,
  type Eligibility,
  type ProviderStatus,
  type SendPermit,
} from '../channel.js';
import { RateWindow } from '../../util/rate-window.js';
import { toE164 } from '../../util/phone.js';
import { classifyNetwork, classifyResponse, operatorHint, pairRetryAfterMs } from './classify.js';
import { PairPacer } from './pair-pacer.js';
import { maskPhones, phoneRef } from './privacy.js';
import { buildTemplate, parseMapping, type WhatsappTemplate } from './template.js';

export interface WhatsappMessage extends ChannelMessage {
  /** E.164 with "+": without it Meta would prepend the business number's country code. */
  to: string;
  template: WhatsappTemplate;
}

/** The highest status the webhook receiver stored for a wamid. */
export interface StoredStatus {
  status: 'sent' | 'delivered' | 'read' | 'failed';
  errorCode?: number;
  errorTitle?: string;
}

export interface WhatsappChannelOptions {
  /** Default https://graph.facebook.com (the sandbox's url in tests and the demo). */
  graphUrl?: string;
  /** Pinned Graph API version, e.g. "v24.0". */
  version: string;
  phoneNumberId: string;
  /** Environment variable holding the access token (a system-user token). */
  tokenEnv: string;
  /** Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Per request. Default 10000 ms. */
  timeoutMs?: number;
  /** Messages per second of this business number. Default 80 (Meta's default throughput). */
  throughputPerSecond?: number;
  /** Minimum gap between two sends to one recipient. Default 6000 (Meta's pair rate limit). */
  pairSpacingMs?: number;
  /** Region of numbers written without a country code. Default IT. */
  defaultRegion?: CountryCode;
  /** For date filters in template parameters. Default Europe/Rome. */
  timeZone?: string;
  /**
   * The translations Meta approved of each template (channels.whatsapp.templates): a citizen whose
   * language the event carries gets that translation when there is one. Without it, the step's own.
   */
  translations?: Record<string, readonly string[]>;
  /** Whether this number agreed to this send (reminders: the WhatsApp opt-in; broadcasts: the topic). */
  consent: (phoneE164: string, ctx: DeliveryContext) => Promise<boolean>;
  /** The highest status stored from webhooks for a wamid, or null if none came yet. */
  statuses: (wamid: string) => Promise<StoredStatus | null>;
  /** The wamid a status webhook tied to this delivery id (biz_opaque_callback_data), if any came. */
  wamidOfDelivery?: (deliveryId: number) => Promise<string | null>;
  logger?: Logger;
}

export const GRAPH_URL = 'https://graph.facebook.com';

// Network delay is covered by holding each slot until the answer (RateWindow); this only covers
// the edge of Meta's window.
const THROUGHPUT_MARGIN_MS = 50;

/** Codes of a failed status that concern only this recipient: another channel may still reach them. */
const RECIPIENT_CODES = new Set([131026, 131047, 470, 131049, 131050, 130403]);

const NOT_NORMALISABLE = 'whatsapp: phone number cannot be normalised to E.164';

export class WhatsappChannel implements Channel<WhatsappMessage> {
  readonly name = 'whatsapp';
  /** Eligibility is the consent ledger (a store lookup): no request to Meta. */
  readonly localCheck = true;
  /** Its requests go through providerHttp(): the send journal writes at their socket. */
  readonly requestsHooked = true;
  private readonly url: string;
  private readonly token: string;
  private readonly tokenEnv: string;
  private readonly region: CountryCode;
  private readonly timeZone: string;
  private readonly http: AxiosInstance;
  private readonly closeHttp: () => void;
  private readonly limiter: RateWindow;
  private readonly pacer: PairPacer;
  private readonly consent: WhatsappChannelOptions['consent'];
  private readonly statuses: WhatsappChannelOptions['statuses'];
  private readonly wamidOfDelivery: WhatsappChannelOptions['wamidOfDelivery'];
  private readonly logger: Logger | undefined;
  private readonly translations: Record<string, readonly string[]>;

  constructor(opts: WhatsappChannelOptions) {
    const env = opts.env ?? process.env;
    const token = env[opts.tokenEnv];
    if (!token) throw new Error(`whatsapp: the access token is missing: set environment variable ${opts.tokenEnv}`);
    if (!/^v\d+\.\d+$/.test(opts.version)) throw new Error(`whatsapp: version "${opts.version}" is not a Graph API version like v24.0`);
    if (!/^\d+$/.test(opts.phoneNumberId)) throw new Error('whatsapp: phoneNumberId must be the numeric id of the business number');
    const base = (opts.graphUrl ?? GRAPH_URL).replace(/\/+$/, '');
    this.url = `${base}/${opts.version}/${opts.phoneNumberId}/messages`;
    this.token = token;
    this.tokenEnv = opts.tokenEnv;
    this.region = opts.defaultRegion ?? 'IT';
    this.timeZone = opts.timeZone ?? 'Europe/Rome';
    this.consent = opts.consent;
    this.statuses = opts.statuses;
    this.wamidOfDelivery = opts.wamidOfDelivery;
    this.logger = opts.logger;
    this.translations = opts.translations ?? {};
    const perSecond = opts.throughputPerSecond ?? 80;
    if (!Number.isInteger(perSecond) || perSecond < 1) {
      throw new Error(`whatsapp: throughputPerSecond must be a positive integer (got ${perSecond})`);
    }
    this.limiter = new RateWindow({ requests: perSecond, windowMs: 1000, marginMs: THROUGHPUT_MARGIN_MS });
    this.pacer = new PairPacer(opts.pairSpacingMs ?? 6000);

    const client = providerHttp(opts.timeoutMs ?? 10_000);
    this.http = client.http;
    this.closeHttp = client.close;
  }

  render(ctx: DeliveryContext, language?: string): WhatsappMessage {
    // A template exists only in its approved translations: the citizen's language when Meta
    // approved one for it (a German speaker in Alto Adige), else the step's.
    const step = parseMapping(ctx.options, ctx.event.type);
    const mapping = { ...step, language: translationFor(language ?? ctx.event.recipient.language, step, this.translations) };
    const phone = ctx.event.recipient.phone;
    if (!phone) throw new ChannelError('whatsapp: no phone number', 'permanent');
    const to = toE164(phone, this.region);
    if (!to) throw new ChannelError(NOT_NORMALISABLE, 'permanent');
    const template = buildTemplate(mapping, ctx.event.data, { timeZone: this.timeZone, eventType: ctx.event.type });
    return { language: mapping.language, to, template };
  }

  async checkRecipient(ctx: DeliveryContext): Promise<Eligibility> {
    const phone = ctx.event.recipient.phone;
    if (!phone) return { ok: false, reason: 'whatsapp: no phone number' };
    const e164 = toE164(phone, this.region);
    if (!e164) return { ok: false, reason: 'whatsapp: phone number not valid' };
    let allowed: boolean;
    try {
      allowed = await this.consent(e164, ctx);
    } catch (err) {
      throw new ChannelError(`whatsapp: consent lookup failed: ${maskPhones(errorText(err), e164)}`, 'transient');
    }
    return allowed ? { ok: true } : { ok: false, reason: 'whatsapp: no opt-in from this number' };
  }

  describeSend(ctx: DeliveryContext, message: WhatsappMessage): DescribedRequest {
    return {
      method: 'POST',
      url: this.url,
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', Authorization: `Bearer <from $${this.tokenEnv}>` },
      body: templateBody(ctx, message),
    };
  }

  /** The recipient's pacing and the number's throughput slot, taken before `sending` is written. */
  async reserveSend(ctx: DeliveryContext, message: WhatsappMessage): Promise<SendPermit> {
    return this.slot(message.to, ctx.signal, true);
  }

  async send(ctx: DeliveryContext, message: WhatsappMessage, permit?: SendPermit): Promise<{ providerId: string }> {
    const slot = permit instanceof Slot ? permit : undefined;
    const providerId = await this.post(templateBody(ctx, message), message.to, ctx.attempt, ctx.signal, true, slot);
    return { providerId };
  }

  /**
   * A free-form text (consent keywords, the privacy notice), only possible inside the 24 h
   * window the citizen's own message opened (else 131047). Returns the wamid.
   */
  async sendText(to: string, body: string, opts: { replyTo?: string; signal?: AbortSignal; /** false: a reply in a burst (see post). */ paced?: boolean } = {}): Promise<string> {
    const e164 = toE164(to, this.region);
    if (!e164) throw new ChannelError(NOT_NORMALISABLE, 'permanent');
    if (body.length < 1 || body.length > 4096) {
      throw new ChannelError(`whatsapp: a text message must be 1..4096 characters, it is ${body.length}`, 'permanent');
    }
    const payload = {
      messaging_product: 'whatsapp',
      recipient_type: 'individual',
      to: e164,
      type: 'text',
      text: { preview_url: false, body },
      ...(opts.replyTo ? { context: { message_id: opts.replyTo } } : {}),
    };
    return this.post(payload, e164, 1, opts.signal, opts.paced ?? true);
  }

  /** An interactive list or reply-button message (free-form: inside the 24 h window only). Returns the wamid. */
  async sendInteractive(to: string, interactive: object, opts: { signal?: AbortSignal } = {}): Promise<string> {
    const e164 = toE164(to, this.region);
    if (!e164) throw new ChannelError(NOT_NORMALISABLE, 'permanent');
    return this.post({ messaging_product: 'whatsapp', recipient_type: 'individual', to: e164, type: 'interactive', interactive }, e164, 1, opts.signal, false);
  }

  /** An image or document by link or uploaded media id (free-form: inside the 24 h window only). Returns the wamid. */
  async sendMedia(to: string, type: 'image' | 'document', media: { link?: string; id?: string; caption?: string; filename?: string }, opts: { signal?: AbortSignal } = {}): Promise<string> {
    const e164 = toE164(to, this.region);
    if (!e164) throw new ChannelError(NOT_NORMALISABLE, 'permanent');
    return this.post({ messaging_product: 'whatsapp', recipient_type: 'individual', to: e164, type, [type]: media }, e164, 1, opts.signal, false);
  }

  /** A status webhook may beat the (timed-out) HTTP answer: it proves Meta took the message. */
  async confirmedSend(ctx: DeliveryContext): Promise<string | null> {
    return this.wamidOfDelivery ? this.wamidOfDelivery(ctx.deliveryId) : null;
  }

  async status(ctx: DeliveryContext, wamid: string): Promise<ProviderStatus> {
    let stored: StoredStatus | null;
    try {
      stored = await this.statuses(wamid);
    } catch (err) {
      throw new ChannelError(`whatsapp: status lookup failed: ${maskPhones(errorText(err))}`, 'transient');
    }
    switch (stored?.status) {
      case undefined:
      case 'sent':
        return { state: 'accepted' };
      case 'delivered':
      case 'read':
        return { state: 'processed' };
      case 'failed': {
        const code = stored.errorCode;
        // Read as stored, not parsed: reading an outcome must not fail on the mapping.
        const { template, language } = ctx.options as { template?: unknown; language?: unknown };
        const which = typeof template === 'string' ? { name: template, language: typeof language === 'string' ? language : 'it' } : undefined;
        const reason = `whatsapp: ${[code, stored.errorTitle].filter((x) => x !== undefined).join(' ') || 'failed'}${explain(code, which)}`;
        // rejected lets a "first" route fall back to another channel (IO) for this citizen.
        return code !== undefined && RECIPIENT_CODES.has(code) ? { state: 'rejected', reason } : { state: 'failed', reason };
      }
      default:
        this.logger?.warn({ wamid, status: stored?.status }, 'whatsapp: unknown stored status, treated as still accepted');
        return { state: 'accepted' };
    }
  }

  /** The number's throughput limiter, for metrics: total time sends waited for a slot, and sends waiting now. */
  rateLimiters(): Array<{ owner: string; waitedMs: number; waiting: number }> {
    return [{ owner: 'throughput', waitedMs: this.limiter.waitedMs, waiting: this.limiter.pending }];
  }

  /** Close the pooled keep-alive connections (tests, shutdown). */
  close(): void {
    this.closeHttp();
  }

  /** Recipient pacing, then the number's throughput window: what a send must hold before it leaves. */
  private async slot(to: string, signal: AbortSignal | undefined, paced: boolean): Promise<Slot> {
    // Replies inside a conversation go out as a burst (welcome, then menu): Meta allows bursts to
    // a citizen who is writing to us, so only sends we start are spaced per recipient.
    const claim = paced ? this.pacer.claim(to) : { ok: true as const, waitMs: 0, started: () => undefined, release: () => undefined };
    if (!claim.ok) {
      throw new ChannelError(
        `whatsapp: ${phoneRef(to)} had a message less than the pair spacing ago, retry in ${claim.retryAfterMs} ms`,
        'transient',
        { code: 'PAIR_SPACING', retryAfterMs: claim.retryAfterMs },
      );
    }
    try {
      if (claim.waitMs > 0) await sleep(claim.waitMs, undefined, { signal });
      return new Slot(claim, await this.limiter.acquire(signal));
    } catch {
      claim.release();
      throw new ChannelError('whatsapp: POST /messages aborted before it was sent', 'transient', { code: 'ABORTED' });
    }
  }

  /** One send: its slot (taken ahead by reserveSend, or now), then the POST. Returns the wamid. */
  private async post(body: Record<string, unknown>, to: string, attempt: number, signal?: AbortSignal, paced = true, reserved?: Slot): Promise<string> {
    const who = phoneRef(to);
    const { claim, answered } = reserved ?? await this.slot(to, signal, paced);
    claim.started();

    const started = Date.now();
    let res: AxiosResponse;
    try {
      res = await this.http.post(this.url, body, { headers: { Authorization: `Bearer ${this.token}` }, signal });
    } catch (err) {
      const error = this.networkError(err, to);
      if (error.errorClass === 'transient') claim.release(); // never reached Meta
      throw error;
    } finally {
      answered(); // the throughput slot ages from the answer (see RateWindow)
    }
    const log = { call: 'send', to: who, type: body.type, status: res.status, ms: Date.now() - started };
    if (res.status >= 200 && res.status < 300) {
      const wamid = (res.data as { messages?: Array<{ id?: unknown }> } | undefined)?.messages?.[0]?.id;
      if (typeof wamid !== 'string' || !wamid) {
        // Something was accepted, but without an id it cannot be tracked: do not send it again.
        throw new ChannelError(`whatsapp: POST /messages → ${res.status} without a message id`, 'uncertain', { status: res.status });
      }
      this.logger?.debug({ ...log, wamid }, 'whatsapp: sent');
      return wamid;
    }
    const error = this.httpError(res, to, attempt, log, templateOf(body));
    // A refused message never reached the citizen, so it does not count against the pair.
    if (error.errorClass !== 'uncertain') claim.release();
    const retryAt = Date.now() + (error.detail.retryAfterMs ?? 0);
    // 131056 concerns this recipient only; 130429 means the number's throughput is used up: hold every send.
    if (error.detail.code === '131056') this.pacer.hold(to, retryAt);
    if (error.detail.code === '130429') this.limiter.pauseUntil(retryAt);
    throw error;
  }

  private httpError(res: AxiosResponse, to: string, attempt: number, log: Record<string, unknown>, template?: { name: string; language: string }): ChannelError {
    const error = (res.data as { error?: { code?: unknown; message?: unknown; error_data?: { details?: unknown } } } | undefined)?.error;
    const code = typeof error?.code === 'number' ? error.code : undefined;
    const errorClass = classifyResponse(res.status, code);
    const text = [error?.message, error?.error_data?.details].filter((s) => typeof s === 'string' && s).join(': ');
    let message = `whatsapp: POST /messages → ${res.status}${text ? ` ${text}` : code !== undefined ? ` code ${code}` : ''}${explain(code, template)}`;
    if (errorClass === 'uncertain') message += ': Meta may have accepted the message';
    // The one fix is the operator's: say which setting holds the token Meta refused.
    if (code === 190 || (code === undefined && res.status === 401)) message += ` — Meta does not accept the access token from $${this.tokenEnv}: set it to a valid system-user token (Business Settings → System users)`;
    const detail: ChannelError['detail'] = { status: res.status, ...(code !== undefined ? { code: String(code) } : {}) };

    // Meta gives no Retry-After (§4): 131056 → 4^X s as Meta advises; 130429 → a second, then the window again.
    if (code === 131056) detail.retryAfterMs = pairRetryAfterMs(attempt);
    if (code === 130429) detail.retryAfterMs = 1000;
    const level = errorClass === 'halt' ? 'error' : 'warn';
    this.logger?.[level]({ ...log, code, errorClass, retryAfterMs: detail.retryAfterMs }, 'whatsapp: send refused');
    return new ChannelError(maskPhones(message, to), errorClass, detail);
  }

  private networkError(err: unknown, to: string): ChannelError {
    if (!isAxiosError(err)) {
      return new ChannelError(`whatsapp: POST /messages failed: ${maskPhones(errorText(err), to)}`, 'uncertain');
    }
    const code = err.code ?? 'UNKNOWN';
    // Whether the whole request had been written: if not, Meta cannot have acted on it.
    const sent = (err.request as ClientRequest | undefined)?.writableFinished === true;
    const errorClass = classifyNetwork(code, sent);
    const what = code === 'ETIMEDOUT' ? 'timed out' : code === 'ERR_CANCELED' ? 'was aborted' : `failed (${err.message})`;
    const consequence = errorClass === 'uncertain' ? ' after it was sent: Meta may have accepted the message' : '';
    this.logger?.warn({ call: 'send', to: phoneRef(to), code, errorClass }, 'whatsapp: no answer');
    return new ChannelError(maskPhones(`whatsapp: POST /messages ${what}${consequence}`, to), errorClass, { code });
  }
}

/** The POST body of a template send; our delivery id rides along and comes back in the status webhooks. */
function templateBody(ctx: DeliveryContext, message: WhatsappMessage): Record<string, unknown> {
  return {
    messaging_product: 'whatsapp',
    recipient_type: 'individual',
    to: message.to,
    type: 'template',
    biz_opaque_callback_data: String(ctx.deliveryId),
    template: message.template,
  };
}

/** " — <what it means>", with the template and language a template error is about; "" for a code without a reading. */
function explain(code: number | undefined, template?: { name: string; language: string }): string {
  const hint = operatorHint(code);
  if (!hint) return '';
  const which = template && code !== undefined && code >= 132000 && code < 133000 ? ` (template "${template.name}", language "${template.language}")` : '';
  return ` — ${hint}${which}`;
}

/**
 * The approved translation of the step's template for a citizen's language ("de", "de-DE",
 * "de_DE"): the same code first, then the same language in another region; else the step's own.
 */
function translationFor(language: string | undefined, step: { template: string; language: string }, translations: Record<string, readonly string[]>): string {
  const approved = translations[step.template];
  if (!language || !approved?.length) return step.language;
  const [base = '', region] = language.trim().split(/[-_]/);
  const wanted = region ? `${base.toLowerCase()}_${region.toUpperCase()}` : base.toLowerCase();
  const baseOf = (code: string) => code.split('_')[0]!;
  if (approved.includes(wanted)) return wanted;
  if (baseOf(step.language) === base.toLowerCase()) return step.language;
  return approved.find((code) => baseOf(code) === base.toLowerCase()) ?? step.language;
}

/** The template a send body carries, for the error that concerns it. */
function templateOf(body: Record<string, unknown>): { name: string; language: string } | undefined {
  const t = body.template as { name?: unknown; language?: { code?: unknown } } | undefined;
  return typeof t?.name === 'string' && typeof t.language?.code === 'string' ? { name: t.name, language: t.language.code } : undefined;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A send's pacing claim and throughput slot; release() gives both back unused. */
class Slot implements SendPermit {
  constructor(
    readonly claim: { started(): void; release(): void },
    readonly answered: () => void,
  ) {}

  release(): void {
    this.claim.release();
    this.answered();
  }
}
