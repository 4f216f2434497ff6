// Posting webhooks to the receiver the way Meta does: a signed JSON POST
// (X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, raw body)>). Every delivery is
// recorded with the receiver's answer. Meta retries a delivery that got no 200 (for up to 7
// days, with backoff); the sandbox does when asked (retryFailed), so a test chooses the moment.
import { createHmac } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { metaJson } from './envelope.js';
import { InFlight } from '../../util/in-flight.js';

export type WebhookKind = 'status' | 'inbound' | 'custom';

/** valid: signed with the app secret; none: no header; forged: signed with another key. */
export type SignatureMode = 'valid' | 'none' | 'forged';

export interface WebhookDelivery {
  kind: WebhookKind;
  /** The body as posted, parsed back (undefined if it was not JSON). */
  body: unknown;
  raw: string;
  signature?: string;
  /** The receiver's HTTP status; 0 until it answers, or when it could not be reached. */
  status: number;
  error?: string;
  at: number;
  /** Posted again by retryFailed(). */
  retried?: boolean;
}

const POST_TIMEOUT_MS = 10_000;

export class WebhookSender {
  readonly deliveries: WebhookDelivery[] = [];
  private readonly running = new InFlight();
  private readonly timers = new Map<NodeJS.Timeout, () => void>();
  private readonly requests = new Set<http.ClientRequest>();
  private closed = false;

  constructor(
    private readonly appSecret: string,
    public url: string | undefined,
  ) {}

  /** Posts one body now. Strings and Buffers go as they are; anything else as Meta's JSON. */
  post(kind: WebhookKind, body: unknown, signature: SignatureMode = 'valid'): Promise<WebhookDelivery> {
    return this.running.track(this.deliver(kind, body, signature));
  }

  /** Posts `bodies` one after the other, each `delayMs` after the previous one was answered. */
  sequence(kind: WebhookKind, bodies: unknown[], delayMs: number): void {
    void this.running.track(
      (async () => {
        for (const body of bodies) {
          await this.delay(delayMs);
          if (this.closed) return;
          await this.deliver(kind, body, 'valid');
        }
      })(),
    );
  }

  /**
   * Meta's retry: every delivery that got no 200 and was not retried yet is posted again, with the
   * same body and signature, one after the other. Returns the new deliveries.
   */
  async retryFailed(): Promise<WebhookDelivery[]> {
    // Only what Meta itself sent: the deliberately unsigned or forged ones are not Meta's to retry.
    const meta = (d: WebhookDelivery) => d.signature === `sha256=${createHmac('sha256', this.appSecret).update(d.raw).digest('hex')}`;
    const failed = this.deliveries.filter((d) => d.status !== 200 && !d.retried && meta(d));
    const out: WebhookDelivery[] = [];
    for (const d of failed) {
      d.retried = true;
      out.push(await this.running.track(this.deliver(d.kind, d.raw, 'valid')));
    }
    return out;
  }

  /** Resolves once nothing is scheduled or in flight. */
  async idle(): Promise<void> {
    await this.running.idle();
  }

  /** Cancels scheduled deliveries and aborts those in flight. */
  close(): void {
    this.closed = true;
    for (const [timer, wake] of this.timers) {
      clearTimeout(timer);
      wake();
    }
    this.timers.clear();
    for (const req of this.requests) req.destroy();
  }

  private delay(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.set(timer, resolve);
    });
  }

  private async deliver(kind: WebhookKind, body: unknown, mode: SignatureMode): Promise<WebhookDelivery> {
    const raw = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : metaJson(body), 'utf8');
    const text = raw.toString('utf8');
    const record: WebhookDelivery = { kind, body: parse(text), raw: text, status: 0, at: Date.now() };
    if (mode !== 'none') {
      const key = mode === 'valid' ? this.appSecret : `forged-${this.appSecret}`;
      record.signature = `sha256=${createHmac('sha256', key).update(raw).digest('hex')}`;
    }
    this.deliveries.push(record);
    if (!this.url) {
      record.error = 'no webhook url set';
      return record;
    }
    try {
      record.status = await this.send(this.url, raw, record.signature);
    } catch (err) {
      record.error = err instanceof Error ? err.message : String(err);
    }
    return record;
  }

  private send(url: string, raw: Buffer, signature: string | undefined): Promise<number> {
    const headers: Record<string, string | number> = {
      'Content-Type': 'application/json',
      'Content-Length': raw.length,
      'User-Agent': 'facebookexternalua',
      ...(signature ? { 'X-Hub-Signature-256': signature } : {}),
    };
    const client = url.startsWith('https:') ? https : http;
    return new Promise((resolve, reject) => {
      // agent: false, so no idle socket outlives the delivery (receivers close cleanly in tests).
      const req = client.request(url, { method: 'POST', headers, agent: false, timeout: POST_TIMEOUT_MS }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      });
      this.requests.add(req);
      req.on('close', () => this.requests.delete(req));
      req.on('timeout', () => req.destroy(new Error(`no answer within ${POST_TIMEOUT_MS} ms`)));
      req.on('error', reject);
      req.end(raw);
    });
  }
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
