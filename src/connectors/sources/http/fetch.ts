// The pages of an HTTP JSON listing, one request at a time (a page is committed before the next
// is asked for). Every error names the URL without its query string and credentials, which
// may hold a token, and says what happened: the HTTP status, a timeout, no connection, not JSON.
import type { HttpSourceConfig } from './schema.js';

export class HttpSourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HttpSourceError';
  }
}

/** scheme://host/path: no user, no password, no query, no fragment. */
export function shownUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(an invalid URL)';
  }
}

function fromEnv(name: string, env: NodeJS.ProcessEnv, what: string): string {
  const value = env[name]?.trim();
  if (!value) throw new HttpSourceError(`HTTP source: environment variable ${name} (${what}) is not set`);
  return value;
}

export function requestOf(cfg: HttpSourceConfig, env: NodeJS.ProcessEnv = process.env): { url: string; headers: Record<string, string> } {
  const url = cfg.url ?? fromEnv(cfg.urlEnv!, env, 'the URL');
  const headers: Record<string, string> = { accept: 'application/json' };
  if (cfg.authEnv) headers.authorization = `Bearer ${fromEnv(cfg.authEnv, env, 'the bearer token')}`;
  for (const [name, variable] of Object.entries(cfg.headersEnv)) headers[name.toLowerCase()] = fromEnv(variable, env, `header ${name}`);
  return { url, headers };
}

/** A dotted path into a JSON value; undefined when any step is missing. */
export function at(value: unknown, path: string | undefined): unknown {
  if (!path) return value;
  let v = value;
  for (const step of path.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[step];
  }
  return v;
}

export interface Page { number: number; items: unknown[]; url: string; serverDate: number | null }

/** query: parameters set on the first URL (and so on every numbered page), e.g. since's. */
export async function* fetchPages(cfg: HttpSourceConfig, signal: AbortSignal, env: NodeJS.ProcessEnv = process.env, query: Record<string, string> = {}): AsyncGenerator<Page> {
  const request = requestOf(cfg, env);
  const { headers } = request;
  let first = request.url;
  if (Object.keys(query).length) {
    const u = new URL(first);
    for (const [k, v] of Object.entries(query)) u.searchParams.set(k, v);
    first = u.href;
  }
  let url: string | null = first;
  if (cfg.paging && 'param' in cfg.paging) url = withParam(first, cfg.paging.param, cfg.paging.first);
  for (let number = 1; url; number++) {
    if (number > cfg.maxPages) throw new HttpSourceError(`${shownUrl(first)}: more than maxPages (${cfg.maxPages}) pages: does the next link ever end?`);
    const body = await getJson(url, headers, cfg.timeoutSeconds, signal, credentialVars(cfg));
    const items = at(body.json, cfg.itemsPath);
    if (!Array.isArray(items)) {
      const has = body.json && typeof body.json === 'object' ? Object.keys(body.json as object).join(', ') : typeof body.json;
      throw new HttpSourceError(`${shownUrl(url)}: no array at itemsPath "${cfg.itemsPath ?? '(the whole answer)'}" (page ${number}; the answer has: ${has || 'nothing'})`);
    }
    yield { number, items, url, serverDate: body.date };
    if (!cfg.paging) break;
    if ('next' in cfg.paging) {
      const next = at(body.json, cfg.paging.next);
      const nextUrl: string | null = typeof next === 'string' && next.trim() ? new URL(next, url).href : null;
      // A next link is followed with the credentials: only on the server they were meant for.
      const credentials = credentialVars(cfg);
      if (nextUrl && credentials && new URL(nextUrl).origin !== new URL(url).origin) {
        throw new HttpSourceError(`${shownUrl(url)}: the next page's link (${cfg.paging.next}) points to another server, ${shownUrl(nextUrl)}, and the credentials (${credentials}) are not sent there`);
      }
      url = nextUrl;
    } else {
      url = items.length ? withParam(first, cfg.paging.param, cfg.paging.first + number) : null;
    }
  }
}

/** The variables the credentials come from, by name (never their values), or null when none. */
function credentialVars(cfg: HttpSourceConfig): string | null {
  const vars = [...(cfg.authEnv ? [`${cfg.authEnv} (the bearer token)`] : []), ...Object.entries(cfg.headersEnv).map(([h, v]) => `${v} (header ${h})`)];
  return vars.length ? vars.join(' and ') : null;
}

function withParam(url: string, param: string, value: number): string {
  const u = new URL(url);
  u.searchParams.set(param, String(value));
  return u.href;
}

async function getJson(url: string, headers: Record<string, string>, timeoutSeconds: number, signal: AbortSignal, credentials: string | null): Promise<{ json: unknown; date: number | null }> {
  const shown = shownUrl(url);
  const timeout = AbortSignal.timeout(timeoutSeconds * 1000);
  let res: Response;
  let at = url;
  // Redirects are followed here, not by fetch: fetch drops Authorization on a redirect to another
  // server but keeps every other header, so headersEnv's API key went to whatever host a
  // redirect named (an SSO front, a moved API). Another server gets no credentials: the run fails.
  for (let hops = 0; ; hops++) {
    try {
      res = await fetch(at, { headers, signal: AbortSignal.any([signal, timeout]), redirect: 'manual' });
    } catch (e) {
      signal.throwIfAborted();
      if (timeout.aborted) throw new HttpSourceError(`${shown}: no answer within ${timeoutSeconds} s (timeoutSeconds)`);
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      throw new HttpSourceError(`${shown}: cannot connect (${cause?.code ?? cause?.message ?? (e as Error).message})`);
    }
    const location = res.status >= 300 && res.status < 400 ? res.headers.get('location') : null;
    if (!location) break;
    await res.body?.cancel();
    const next = new URL(location, at);
    const from = new URL(at);
    // The same server, or the same host moving to https, may have the credentials.
    const sameServer = next.origin === from.origin || (next.hostname === from.hostname && next.protocol === 'https:');
    if (!sameServer && credentials) {
      throw new HttpSourceError(`${shown}: HTTP ${res.status} redirects to another server, ${shownUrl(next.href)}, and the credentials (${credentials}) are not sent there: a wrong token sent to a login page, or the API has moved (then set source.url to its new address)`);
    }
    if (hops >= 10) throw new HttpSourceError(`${shown}: more than 10 redirects`);
    at = next.href;
  }
  // The body of an error may echo the request or hold personal data: only the status is told.
  if (!res.ok) {
    await res.body?.cancel();
    const hint = res.status === 401 || res.status === 403
      ? (credentials ? ` (check ${credentials} in Ponte's environment: wrong, expired, or for another API?)` : ' (the request carried no credentials: name the variable holding the token in source.authEnv or headersEnv)')
      : res.status >= 500 ? ' (the back-office server failed; the next scheduled run tries again)' : '';
    throw new HttpSourceError(`${shown}: HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}${redirectedTo(at, url)}${hint}`);
  }
  let text: string;
  try {
    text = decodeBody(new Uint8Array(await res.arrayBuffer()), res.headers.get('content-type'));
  } catch {
    if (timeout.aborted) throw new HttpSourceError(`${shown}: the answer did not arrive within ${timeoutSeconds} s (timeoutSeconds)`);
    throw new HttpSourceError(`${shown}: the answer was cut off`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    const type = res.headers.get('content-type') ?? 'not given';
    // A wrong token often gets a redirect to a login page, answered 200: say what HTML usually is.
    const html = /html/i.test(type) || /^\s*</.test(text)
      ? `: an HTML page, usually a login page or a proxy's error page; check source.url (the API's address, not the web site's)${credentials ? ` and ${credentials}` : ''}`
      : '';
    throw new HttpSourceError(`${shown}: the answer is not JSON (content-type ${type})${redirectedTo(at, url)}${html}`);
  }
  const date = Date.parse(res.headers.get('date') ?? '');
  return { json, date: Number.isNaN(date) ? null : date };
}

/**
 * The body as text in the charset its Content-Type names. JSON ought to be UTF-8, but older
 * municipal APIs (Java, PHP) answer `charset=ISO-8859-1`: read as UTF-8, "Niccolò" reached the
 * citizen as "Niccol�". Latin-1 is read as Windows-1252, its superset (€ is 0x80), and
 * streaming, because Node 20's one-shot decode reads 0x80 as U+0080 (as the CSV reader does).
 */
export function decodeBody(bytes: Uint8Array, contentType: string | null): string {
  const charset = /;\s*charset\s*=\s*"?([\w.:-]+)/i.exec(contentType ?? '')?.[1]?.toLowerCase() ?? 'utf-8';
  const latin = /^(iso-?8859-1|latin-?1|l1|windows-1252|cp-?1252|us-ascii|ascii)$/.test(charset);
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(latin ? 'windows-1252' : charset);
  } catch {
    decoder = new TextDecoder('utf-8'); // a charset TextDecoder does not know: JSON's own
  }
  return decoder.decode(bytes, { stream: true }) + decoder.decode();
}

/** ", after a redirect to <url>" when one was followed (shown without query or credentials). */
function redirectedTo(at: string, asked: string): string {
  return shownUrl(at) !== shownUrl(asked) ? `, after a redirect to ${shownUrl(at)}` : '';
}
