// The HTTP client every channel uses towards its provider.
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import axios, { type AxiosInstance } from 'axios';

export interface ProviderHttp {
  http: AxiosInstance;
  /** Closes the pooled connections (tests, shutdown). */
  close(): void;
}

/** Run just before each provider request's bytes can leave (see beforeRequestBytes). */
const beforeBytes = new Set<() => void>();

/**
 * Runs `hook` synchronously just before every provider request made through providerHttp() can
 * write its bytes. On a connected socket that is as the request gets it: Node emits the request's
 * `socket` event and then, in the same call, writes its buffered bytes (`_http_client`:
 * onSocketNT → tickOnSocket → emit('socket') → req._flush()). On a socket still connecting (its
 * name looked up, its TCP connection made) Node's write waits for the socket's `connect` event,
 * registered by that flush, after the listener that runs the hooks; so they run as it connects.
 * On a new TLS socket they run as its handshake ends (`secureConnect`), before the request's bytes
 * are encrypted and sent (Node hands them to OpenSSL only after that event's listeners; a test
 * holds it against a server in another process). A connection that fails runs nothing: no byte
 * left. The send journal writes its lines here, as late as they can be and still come first.
 * Returns the removal.
 */
export function beforeRequestBytes(hook: () => void): () => void {
  beforeBytes.add(hook);
  return () => beforeBytes.delete(hook);
}

function runBeforeBytes(): void {
  for (const hook of beforeBytes) hook();
}

function onSocket(socket: Socket): void {
  if (socket.connecting) socket.once((socket as TLSSocket).encrypted ? 'secureConnect' : 'connect', runBeforeBytes);
  else runBeforeBytes();
}

/** Agent.addRequest: Node calls it for every request the agent takes (not in @types/node). */
type AddRequest = (this: http.Agent, req: http.ClientRequest, opts: unknown) => void;

/** Every request the agent takes runs the hooks as it can write its bytes. */
function hooked<A extends http.Agent>(agent: A): A {
  const a = agent as unknown as { addRequest: AddRequest };
  const addRequest = a.addRequest;
  a.addRequest = function (req, opts) {
    req.once('socket', onSocket);
    addRequest.call(this, req, opts);
  };
  return agent;
}

export function providerHttp(timeoutMs: number): ProviderHttp {
  // Keep-alive matters for throughput (no TLS handshake per message). Idle sockets are dropped
  // after 60 s (or sooner if the server's Keep-Alive header says so; Node only honours that
  // hint when a timeout is set), so a reused socket is not one the server already closed.
  // No socket cap: a request queued in the agent would reach the provider later than the
  // channel's rate limiter planned.
  // keepAliveMsecs as axios's: axios sets TCP keep-alive to 60 s on each request's socket, and the
  // agent set it back to its default (1 s) as the socket returned to the pool, so every request
  // made 8 setsockopt calls (strace: 16,187 for 2,000 requests; agreeing, 178). An idle pooled
  // socket is no longer probed before the 60 s timeout closes it; a NAT keeps an established
  // connection's state far longer than that (RFC 5382: at least 2 h 4 min).
  const agentOptions = { keepAlive: true, keepAliveMsecs: 60_000, timeout: 60_000 };
  const httpAgent = hooked(new http.Agent(agentOptions));
  const httpsAgent = hooked(new https.Agent(agentOptions));
  const client = axios.create({
    timeout: timeoutMs,
    httpAgent,
    httpsAgent,
    maxRedirects: 0,
    validateStatus: () => true, // every status is classified by the channel, not thrown by axios
    transitional: { clarifyTimeoutError: true }, // timeouts as ETIMEDOUT, not ECONNABORTED
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
  });
  return { http: client, close: () => { httpAgent.destroy(); httpsAgent.destroy(); } };
}
