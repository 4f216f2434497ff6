// The channel contract. A channel turns one delivery into provider calls; the dispatcher owns
// state, retries and scheduling. Errors are thrown as ChannelError so the dispatcher can act on
// their class without knowing the provider.

/** What the dispatcher hands a channel for one delivery. */
export interface DeliveryContext {
  deliveryId: number;
  /** 1 for the first try. */
  attempt: number;
  event: {
    id: number;
    key: string;
    type: string;
    recipient: { fiscalCode: string; phone?: string; language?: string };
    data: Record<string, unknown>;
    expiresAt?: Date;
  };
  /** Channel options chosen by config for this event type (e.g. { service: "anagrafe" } for IO). */
  options: Record<string, unknown>;
  signal?: AbortSignal;
}

/** What every channel's rendered message has; each channel adds its own shape (IO: subject and markdown). */
export interface ChannelMessage {
  language: string;
}

/** The IO message (subject + markdown). */
export interface RenderedMessage extends ChannelMessage {
  subject: string;
  markdown: string;
}

/** The exact HTTP request a send would make (dry-run output, tests). Secrets are never included. */
export interface DescribedRequest {
  method: 'GET' | 'POST';
  url: string;
  headers: Record<string, string>;
  body?: unknown;
}

export type Eligibility =
  | { ok: true; language?: string }
  | { ok: false; reason: string };

export type ProviderStatus =
  /** Still in the provider's hands: poll again later. */
  | { state: 'accepted' }
  | { state: 'processed' }
  | { state: 'rejected'; reason: string }
  | { state: 'failed'; reason: string };

export type ErrorClass =
  /** Retrying cannot help (bad payload, bad key, recipient forbidden ...). */
  | 'permanent'
  /** Retry later (429, 5xx before acceptance, connection refused ...). */
  | 'transient'
  /** The request may or may not have reached the provider: never resend silently. */
  | 'uncertain'
  /** The whole channel must stop (revoked token, account blocked): keep work pending, alert. */
  | 'halt';

export class ChannelError extends Error {
  constructor(
    message: string,
    readonly errorClass: ErrorClass,
    /** `part`: what a 'halt' stops when it is less than the channel (IO: the service whose key IO refused). */
    readonly detail: { status?: number; code?: string; retryAfterMs?: number; part?: string } = {},
  ) {
    super(message);
    this.name = 'ChannelError';
  }
}

/** A rate slot taken by reserveSend(): used by send(), or given back with release(). */
export interface SendPermit {
  release(): void;
}

export interface Channel<M extends ChannelMessage = ChannelMessage> {
  readonly name: string;
  /** Render and validate the message. Throws ChannelError('permanent') naming the rule broken. */
  render(ctx: DeliveryContext, language?: string): M;
  /** Pre-send eligibility (IO: profile exists and sender_allowed). */
  checkRecipient(ctx: DeliveryContext): Promise<Eligibility>;
  /**
   * checkRecipient makes no provider request (WhatsApp: the consent ledger in Ponte's own store).
   * The dispatcher then runs it without a provider slot and logs no provider call for it: it
   * would otherwise wait its turn behind real requests and fill the attempts log with lookups.
   */
  readonly localCheck?: boolean;
  /**
   * Every request send() makes goes through providerHttp() (http-client.ts), whose requests run
   * the beforeRequestBytes hooks just before their bytes can leave. The send journal then writes a
   * send's line there instead of before send() is called (test/channels/contract.ts holds it).
   */
  readonly requestsHooked?: boolean;
  /** The request send() would make, for dry-run. */
  describeSend(ctx: DeliveryContext, message: M): DescribedRequest;
  /**
   * Channels with a client-side rate limit: take the send's slot ahead, so that the dispatcher
   * writes `sending` only once the request can leave (a crash while waiting for a slot then leaves
   * the delivery pending, not uncertain). The permit is passed to send(), or released if unused.
   */
  reserveSend?(ctx: DeliveryContext, message: M): Promise<SendPermit>;
  /** Hand the message to the provider; returns the provider's message id. */
  send(ctx: DeliveryContext, message: M, permit?: SendPermit): Promise<{ providerId: string }>;
  /**
   * After an uncertain send: the provider's id if the provider has already confirmed it took this
   * delivery (WhatsApp: a status webhook echoing our delivery id), else null. Channels that cannot
   * know (IO) leave it out.
   */
  confirmedSend?(ctx: DeliveryContext): Promise<string | null>;
  /** Outcome of an accepted message (IO: GET /messages/{fc}/{id}; WhatsApp: the statuses its webhooks stored). */
  status(ctx: DeliveryContext, providerId: string): Promise<ProviderStatus>;
  /** The part of the channel a delivery goes through (IO: its service), matched against a halt's `part`. */
  partOf?(ctx: DeliveryContext): string | undefined;
}
