// The HTTP server `ponte run` starts: the WhatsApp webhook, and the health endpoints. node:http
// is enough for a handful of routes, and it hands us the raw body bytes the signature needs.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listen } from './listen.js';
import { readBody } from './read-body.js';
import { InFlight } from '../util/in-flight.js';
import type { Logger } from 'pino';

export interface Reply {
  status: number;
  body?: string | object;
  contentType?: string;
  headers?: Record<string, string>;
  /** Work to do after the answer has been sent (Meta wants a fast 200). */
  after?: () => Promise<void>;
}

export type Handler = (req: IncomingMessage, url: URL, rawBody: Buffer) => Promise<Reply>;

export interface HttpServer {
  url: string;
  close(): Promise<void>;
}

const MAX_BODY = 4 * 1024 * 1024; // Meta's payloads reach 3 MB

/**
 * How long a client may take to send its headers, and its whole request. Node's defaults (60 s,
 * 5 min) let each trickling connection (slowloris) be held for minutes; Meta sends a webhook in
 * well under a second. Node checks them every `checkEveryMs`.
 */
export interface ServerTimeouts { headersMs: number; requestMs: number; checkEveryMs: number }
const TIMEOUTS: ServerTimeouts = { headersMs: 10_000, requestMs: 30_000, checkEveryMs: 5_000 };

function send(res: ServerResponse, r: Reply): void {
  const body = r.body === undefined ? '' : typeof r.body === 'string' ? r.body : JSON.stringify(r.body);
  // nosniff: the handshake echoes hub.challenge, which must stay text for a browser however it looks.
  res.writeHead(r.status, { ...r.headers, 'Content-Type': r.contentType ?? (typeof r.body === 'object' ? 'application/json' : 'text/plain; charset=utf-8'), 'X-Content-Type-Options': 'nosniff' });
  res.end(body);
}

/**
 * Body bytes all requests being handled may hold together. The signature can only be checked on a
 * whole body, so without a bound a few hundred unsigned 4 MiB POSTs at once would buffer gigabytes
 * and get the process killed; past it a request gets 503, which Meta retries.
 */
const BODY_BUDGET = 64 * 1024 * 1024;

/**
 * 413 (or 503) without reading the rest of the body: waiting for its end would let a slow or endless
 * upload hold the connection until Node's request timeout. The connection cannot carry another
 * request with unread body bytes on it, so it is closed once the answer is out.
 */
function refuseBody(req: IncomingMessage, res: ServerResponse, status: 413 | 503): void {
  res.writeHead(status, { 'Content-Type': 'application/json', 'X-Content-Type-Options': 'nosniff', Connection: 'close' });
  res.end(JSON.stringify({ error: status === 413 ? 'payload too large' : 'busy, retry later' }), () => req.destroy());
}

/** The most body bytes `req` can bring: its Content-Length, the limit when chunked, 0 with neither. */
function bodyBound(req: IncomingMessage): number {
  const declared = req.headers['content-length'];
  if (declared !== undefined) return Math.min(Number(declared), MAX_BODY);
  return req.headers['transfer-encoding'] !== undefined ? MAX_BODY : 0;
}

function parseTarget(target: string | undefined): URL | null {
  try {
    return new URL(target ?? '/', 'http://localhost');
  } catch {
    return null;
  }
}

export interface HttpServerOptions {
  host: string;
  port: number;
  log: Logger;
  name?: string;
  timeouts?: ServerTimeouts;
  bodyBudget?: number;
  /**
   * True when a handler's error means the store cannot be reached (and has been said once, by the
   * store's outage reporter): the request gets 503 with Retry-After, which Meta retries, and no
   * stack trace of its own. Otherwise every webhook of an outage would log one.
   */
  storeAway?: (e: unknown) => boolean;
  /**
   * How long close() lets the requests being handled, and their follow-ups, finish (default 5 s):
   * a webhook stored and answered at a stop is one Meta does not have to send again later.
   */
  drainMs?: number;
}

/** Seconds a client is asked to wait before retrying while the store is away. */
export const STORE_AWAY_RETRY_S = 30;

export async function startHttpServer(routes: Record<string, Handler>, opts: HttpServerOptions): Promise<HttpServer> {
  const t = opts.timeouts ?? TIMEOUTS;
  const budget = opts.bodyBudget ?? BODY_BUDGET;
  let reserved = 0;
  /** Requests being handled and follow-ups running: what close() waits for. */
  const working = new InFlight();
  const server = createServer({ headersTimeout: t.headersMs, requestTimeout: t.requestMs, connectionsCheckingInterval: t.checkEveryMs }, (req, res) => {
    void working.track((async () => {
      // An unparsable target ("GET http://[ HTTP/1.1") must not throw outside the try: one request would end the process.
      const url = parseTarget(req.url);
      if (!url) return send(res, { status: 400, body: { error: 'bad request target' } });
      const handler = routes[`${req.method} ${url.pathname}`];
      let held = 0;
      try {
        if (!handler) return send(res, { status: 404, body: { error: 'not found' } });
        if (Number(req.headers['content-length'] ?? 0) > MAX_BODY) return refuseBody(req, res, 413);
        const bound = bodyBound(req);
        if (reserved + bound > budget) {
          opts.log.warn({ path: url.pathname, reservedBytes: reserved }, 'HTTP request refused (503): too many request bodies being read at once');
          return refuseBody(req, res, 503);
        }
        reserved += held = bound;
        const raw = await readBody(req, MAX_BODY, { stopWhenTooLarge: true });
        if (raw === null) return refuseBody(req, res, 413);
        const reply = await handler(req, url, raw);
        send(res, reply);
        if (reply.after) void working.track(reply.after().catch((e: unknown) => opts.log.error({ err: e, path: url.pathname }, 'webhook follow-up failed')));
      } catch (e) {
        if (opts.storeAway?.(e)) {
          if (!res.headersSent) send(res, { status: 503, body: { error: 'store unavailable, retry later' }, headers: { 'Retry-After': String(STORE_AWAY_RETRY_S) } });
          return;
        }
        opts.log.error({ err: e, path: url.pathname }, 'HTTP handler failed');
        if (!res.headersSent) send(res, { status: 500, body: { error: 'internal error' } });
      } finally {
        reserved -= held;
      }
    })());
  });
  const listening = await listen(server, opts.host, opts.port, opts.name ?? 'HTTP server');
  return { url: listening.origin, close: () => listening.close({ until: working.idle(), drainMs: opts.drainMs ?? 5_000 }) };
}
