// The IO sandbox: a local, faithful fake of PagoPA IO's services API (/api/v1), for tests, the
// demo and dry runs. What it mimics, and where from, is in /work/shared/research/appio.md:
// APIM in front (route → key → per-owner rate limit), then IO's handlers (validation against
// the OpenAPI spec, ProblemJson errors, asynchronous processing of created messages).
import { listen } from '../../server/listen.js';
import { readBody } from '../../server/read-body.js';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Faults, type FaultKind, type FaultOptions, type SandboxOp } from './faults.js';
import { OwnerRateLimiter, type OwnerStats, type RateLimit } from './rate.js';
import { IoState, type CitizenOptions, type SandboxMessage } from './state.js';
import { loadValidators, type Validators } from './validate.js';
import { keepLast } from '../recorded.js';

export interface IoSandboxOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: a random free port. */
  port?: number;
  /**
   * Subscription keys. Absent: any non-empty key is accepted, as service = key, owner "default".
   * `authorizedRecipients`: the service is still in its test phase (an APIM user in the "limited"
   * groups): profiles and messages of any other fiscal code get 403 "Recipient forbidden".
   */
  keys?: Record<string, Account>;
  /** APIM limit per owner, over all operations. Default 150 requests per 5000 ms. */
  limit?: RateLimit;
  /** Default: every well-formed fiscal code has a profile with sender_allowed true. */
  citizens?: CitizenOptions;
  /** How long a created message stays ACCEPTED. Default 200 ms. */
  processingDelayMs?: number;
  /** A file keeping the created messages across restarts (JSON lines); default: memory only. */
  stateFile?: string;
  faults?: FaultOptions;
  /** Default: the copy of IO's spec next to this file. */
  specPath?: string;
  /** How many served requests `requests` keeps, the latest (default: all; the embedded sandbox keeps EMBEDDED_KEEP_REQUESTS). */
  keepRequests?: number;
  /** Messages created longer ago than this are forgotten, in memory and in `stateFile` (default: never). */
  forgetMessagesAfterMs?: number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  op?: SandboxOp;
  /** The status sent (or to be sent, for a withheld response); 0 when the socket was reset. */
  status: number;
  owner?: string;
  service?: string;
  /** Arrival time, epoch ms. */
  at: number;
  injected?: FaultKind;
  /** The parsed JSON body, when there was one. */
  body?: unknown;
}

export interface IoSandbox {
  /** Base URL including /api/v1, e.g. http://127.0.0.1:41234/api/v1 */
  readonly url: string;
  /** Every created message, with its current status. */
  readonly messages: SandboxMessage[];
  readonly requests: RecordedRequest[];
  stats(): Record<string, OwnerStats>;
  setFaults(faults: FaultOptions): void;
  /** The next `count` requests (to `op`, or any) fail with `kind`, before any random fault. */
  failNext(count: number, kind: FaultKind, op?: SandboxOp): void;
  close(): Promise<void>;
}

const BASE_PATH = '/api/v1';
const MAX_BODY_BYTES = 1024 * 1024;
const FISCAL_CODE_IN_BODY = 'submitMessageforUserWithFiscalCodeInBody';
const FISCAL_CODE_IN_PATH = 'submitMessageforUser';
// IO's and APIM's own wording.
const WHERE_FISCAL_CODE = 'The fiscalcode parameter must be specified in the path or in the payload';
const NOT_YOUR_MESSAGE = 'You are not allowed to read this message, you can only read messages that you have sent';
const MISSING_KEY =
  'Access denied due to missing subscription key. Make sure to include subscription key when making requests to an API.';
const RECIPIENT_FORBIDDEN = 'You are not allowed to issue requests for the recipient.';
const INVALID_KEY =
  'Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription.';

interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface Account {
  service: string;
  owner: string;
  authorizedRecipients?: string[];
}

/** The part of IO's NewMessage the sandbox uses (the body has passed the spec's schema). */
interface NewMessage {
  fiscal_code?: string;
  time_to_live?: number;
  feature_level_type?: string;
  content: Record<string, unknown> & { subject: string; markdown: string };
}

interface Route {
  op: SandboxOp;
  operationId: string;
  params: Record<string, string>;
}

// The operations served, by their paths in the spec.
const ROUTES: Array<{ method: string; path: string; op: SandboxOp; operationId: string }> = [
  { method: 'POST', path: '/profiles', op: 'getProfile', operationId: 'getProfileByPOST' },
  { method: 'GET', path: '/profiles/{fiscal_code}', op: 'getProfile', operationId: 'getProfile' },
  { method: 'POST', path: '/messages', op: 'submitMessage', operationId: FISCAL_CODE_IN_BODY },
  { method: 'POST', path: '/messages/{fiscal_code}', op: 'submitMessage', operationId: FISCAL_CODE_IN_PATH },
  { method: 'GET', path: '/messages/{fiscal_code}/{id}', op: 'getMessage', operationId: 'getMessage' },
];

function matchRoute(method: string, path: string): Route | undefined {
  if (!path.startsWith(`${BASE_PATH}/`)) return undefined;
  const segments = path.slice(BASE_PATH.length).split('/');
  for (const r of ROUTES) {
    const template = r.path.split('/');
    if (r.method !== method || template.length !== segments.length) continue;
    const params: Record<string, string> = {};
    const matches = template.every((t, i) => {
      const name = /^\{(\w+)\}$/.exec(t)?.[1];
      if (name === undefined) return t === segments[i];
      params[name] = safeDecode(segments[i]!);
      return params[name] !== '';
    });
    if (matches) return { op: r.op, operationId: r.operationId, params };
  }
  return undefined;
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment; // malformed %-escapes: left as sent, validation will reject them
  }
}

/** RFC 7807 body, as IO's handlers send it (ResponseErrorGeneric in @pagopa/ts-commons). */
function problem(status: number, title: string, detail: string): Reply {
  return { status, body: { title, status, detail }, headers: { 'Content-Type': 'application/problem+json' } };
}

/** APIM's own error bodies (gateway-level errors, not ProblemJson). */
function apim(status: number, message: string, headers?: Record<string, string>): Reply {
  return { status, body: { statusCode: status, message }, headers };
}

function tooManyRequests(retryAfterMs: number): Reply {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return apim(429, `Rate limit is exceeded. Try again in ${seconds} seconds.`, {
    'x-rate-limit-retry-after': String(seconds),
    'x-rate-limit-remaining': '0',
  });
}

export async function startIoSandbox(opts: IoSandboxOptions = {}): Promise<IoSandbox> {
  const validators: Validators = loadValidators(
    ['getProfileByPOST', 'getProfile', FISCAL_CODE_IN_BODY, FISCAL_CODE_IN_PATH, 'getMessage'],
    opts.specPath,
  );
  const state = new IoState(opts.citizens ?? {}, opts.processingDelayMs ?? 200, opts.stateFile, opts.forgetMessagesAfterMs);
  const limiter = new OwnerRateLimiter(opts.limit ?? { requests: 150, windowMs: 5000 });
  const faults = new Faults(opts.faults);
  const requests: RecordedRequest[] = [];
  const withheld = new Set<NodeJS.Timeout>();

  function account(key: string): Account | undefined {
    if (!opts.keys) return { service: key, owner: 'default' };
    return opts.keys[key];
  }

  /** IO's handlers, once APIM has let the request through. */
  function handle(route: Route, who: Account, body: unknown, bodyError: boolean): Reply {
    const invalid = validate(route, body, bodyError);
    if (invalid) return invalid;
    const fcInPath = route.params.fiscal_code;
    // A limited account (test phase) may reach only its authorized recipients (appio.md §1, §2.4).
    const recipient = fcInPath ?? (body as { fiscal_code?: string } | undefined)?.fiscal_code;
    if (route.op !== 'getMessage' && who.authorizedRecipients && recipient !== undefined && !who.authorizedRecipients.includes(recipient)) {
      return problem(403, 'Recipient forbidden', RECIPIENT_FORBIDDEN);
    }
    switch (route.op) {
      case 'getProfile':
        return getProfile(fcInPath ?? (body as { fiscal_code: string }).fiscal_code);
      case 'submitMessage':
        return submitMessage(who, body as NewMessage, fcInPath);
      case 'getMessage':
        return getMessage(who, fcInPath!, route.params.id!);
    }
  }

  /** Body, then path parameters, against the operation's schemas in the spec (IO's middlewares). */
  function validate({ op, operationId, params }: Route, body: unknown, bodyError: boolean): Reply | undefined {
    if (operationId === 'getProfileByPOST' || op === 'submitMessage') {
      const title = op === 'submitMessage' ? 'Invalid message structure' : 'Invalid FiscalCodePayload';
      if (bodyError) return problem(400, title, 'the request body is not valid JSON');
      const invalid = validators.body(operationId, body);
      if (invalid) return problem(400, title, invalid);
    }
    if (params.fiscal_code !== undefined) {
      const invalid = validators.param(operationId, 'fiscal_code', params.fiscal_code);
      if (invalid) return problem(400, 'Invalid FiscalCode', invalid);
    }
    return undefined;
  }

  function getProfile(fiscalCode: string): Reply {
    const profile = state.profile(fiscalCode);
    if (!profile) return problem(404, 'Profile not found', 'The profile you requested was not found in the system.');
    return { status: 200, body: profile };
  }

  function submitMessage(who: Account, msg: NewMessage, fcInPath: string | undefined): Reply {
    if (fcInPath !== undefined && msg.fiscal_code !== undefined) {
      return problem(400, 'Bad parameters', `${WHERE_FISCAL_CODE} but not in both`);
    }
    const fiscalCode = fcInPath ?? msg.fiscal_code;
    if (fiscalCode === undefined) return problem(400, 'Bad parameters', WHERE_FISCAL_CODE);
    const created = state.createMessage({
      fiscalCode,
      service: who.service,
      owner: who.owner,
      subject: msg.content.subject,
      markdown: msg.content.markdown,
      content: msg.content,
      timeToLive: msg.time_to_live ?? 3600,
      featureLevelType: msg.feature_level_type ?? 'STANDARD',
    });
    return {
      status: 201,
      body: { id: created.id },
      headers: { Location: `${BASE_PATH}/messages/${fiscalCode}/${created.id}` },
    };
  }

  function getMessage(who: Account, fiscalCode: string, id: string): Reply {
    const m = state.find(id);
    if (!m || m.fiscalCode !== fiscalCode) {
      return problem(404, 'Message not found', 'The message that you requested was not found in the system.');
    }
    if (m.service !== who.service) {
      return problem(403, 'You are not allowed here', NOT_YOUR_MESSAGE);
    }
    return {
      status: 200,
      body: {
        message: {
          id: m.id,
          fiscal_code: m.fiscalCode,
          created_at: m.createdAt.toISOString(),
          sender_service_id: m.service,
          time_to_live: m.timeToLive,
          feature_level_type: m.featureLevelType,
          // The content is stored in the inbox by processing; until then IO returns none.
          ...(m.status === 'PROCESSED' ? { content: m.content } : {}),
        },
        status: m.status,
      },
    };
  }

  function send(res: ServerResponse, reply: Reply): void {
    if (res.destroyed || res.headersSent) return;
    const payload = reply.body === undefined ? '' : JSON.stringify(reply.body);
    res.writeHead(reply.status, { 'Content-Type': 'application/json', ...reply.headers });
    res.end(payload);
  }

  async function onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const at = Date.now();
    const method = req.method ?? 'GET';
    const path = new URL(req.url ?? '/', 'http://sandbox').pathname;
    // An oversized body reads as none: the request is then refused as malformed.
    const raw = (await readBody(req, MAX_BODY_BYTES))?.toString('utf8') ?? '';
    let body: unknown;
    let bodyError = false;
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw);
      } catch {
        bodyError = true;
      }
    }
    const record: RecordedRequest = { method, path, status: 0, at, ...(body !== undefined ? { body } : {}) };
    keepLast(requests, record, opts.keepRequests ?? Infinity);
    const reply = (r: Reply): void => {
      record.status = r.status;
      send(res, r);
    };

    // APIM: unknown operation, then the subscription key, then the owner's rate limit.
    const route = matchRoute(method, path);
    if (!route) return reply(apim(404, 'Resource not found'));
    record.op = route.op;
    const key = req.headers['ocp-apim-subscription-key'];
    if (typeof key !== 'string' || key === '') return reply(apim(401, MISSING_KEY));
    const who = account(key);
    if (!who) return reply(apim(401, INVALID_KEY));
    record.owner = who.owner;
    record.service = who.service;
    const waitMs = limiter.admit(who.owner, at);
    if (waitMs > 0) return reply(tooManyRequests(waitMs));

    const fault = faults.pick(route.op);
    if (fault) {
      record.injected = fault;
      limiter.countInjected(who.owner);
    }
    if (fault === 'reset') {
      req.socket.destroy();
      return;
    }
    if (fault === '500') return reply(problem(500, 'Internal server error', 'Injected fault: the backend failed'));
    if (fault === '429') return reply(tooManyRequests(1000));

    const result = handle(route, who, body, bodyError);
    if (fault !== 'timeout') return reply(result);
    // The operation has happened (a message was created) but the client will not hear of it
    // before its own timeout: the sender cannot know the outcome.
    record.status = result.status;
    const timer = setTimeout(() => {
      withheld.delete(timer);
      send(res, result);
    }, faults.timeoutMs);
    withheld.add(timer);
  }

  const server = createServer((req, res) => {
    onRequest(req, res).catch((err: unknown) => {
      send(res, problem(500, 'Internal server error', `sandbox bug: ${String(err)}`));
    });
  });
  const listening = await listen(server, opts.host ?? '127.0.0.1', opts.port ?? 0, 'IO sandbox');

  return {
    url: `${listening.origin}${BASE_PATH}`,
    get messages() {
      return state.all();
    },
    requests,
    stats: () => limiter.snapshot(),
    setFaults: (f) => faults.set(f),
    failNext: (count, kind, op) => faults.failNext(count, kind, op),
    close: () => {
      for (const t of withheld) clearTimeout(t);
      withheld.clear();
      return listening.close();
    },
  };
}
