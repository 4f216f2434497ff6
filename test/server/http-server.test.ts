// The server `ponte run` starts hands each route the raw body bytes (the webhook signature is over
// them) and refuses a body past its limit, or past what all requests may hold together, before
// any handler sees it.
import { request } from 'node:http';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { startHttpServer, type HttpServer } from '../../src/server/http-server.js';
import { gate } from '../helpers/gate.js';

let server: HttpServer | null = null;
afterEach(async () => { await server?.close(); server = null; });

describe('startHttpServer', () => {
  it('gives the handler the exact body bytes, and answers 404 for an unknown route', async () => {
    const seen: Buffer[] = [];
    server = await startHttpServer({
      'POST /hook': async (_req, _url, raw) => { seen.push(raw); return { status: 200, body: { n: raw.length } }; },
    }, { host: '127.0.0.1', port: 0, log: pino({ level: 'silent' }) });
    const body = Buffer.from('{"a":"è"}\n', 'utf8');
    const r = await fetch(`${server.url}/hook`, { method: 'POST', body });
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ n: body.length });
    expect(seen[0]!.equals(body)).toBe(true);
    expect((await fetch(`${server.url}/other`, { method: 'POST', body })).status).toBe(404);
  });

  it('answers 413 to a body over 4 MiB without calling the handler', async () => {
    let calls = 0;
    server = await startHttpServer({
      'POST /hook': async () => { calls++; return { status: 200 }; },
    }, { host: '127.0.0.1', port: 0, log: pino({ level: 'silent' }) });
    const r = await fetch(`${server.url}/hook`, { method: 'POST', body: Buffer.alloc(4 * 1024 * 1024 + 1, 0x61) });
    expect(r.status).toBe(413);
    expect(await r.json()).toEqual({ error: 'payload too large' });
    expect(calls).toBe(0);
    // exactly at the limit still goes through
    expect((await fetch(`${server.url}/hook`, { method: 'POST', body: Buffer.alloc(4 * 1024 * 1024, 0x61) })).status).toBe(200);
    expect(calls).toBe(1);
  });

  it('answers 413 on an oversized Content-Length alone: the client never has to send the body', async () => {
    let calls = 0;
    server = await startHttpServer({
      'POST /hook': async () => { calls++; return { status: 200 }; },
    }, { host: '127.0.0.1', port: 0, log: pino({ level: 'silent' }) });
    const url = new URL(`${server.url}/hook`);
    const got = await new Promise<{ status?: number; headers: Record<string, unknown>; body: string; closed: boolean }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no answer while the body was not sent')), 3000);
      const req = request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { 'Content-Length': String(100 * 1024 * 1024) } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => { body += c; });
        // the server closes the connection once it has answered
        req.socket!.once('close', () => { clearTimeout(timer); resolve({ status: res.statusCode, headers: res.headers, body, closed: true }); });
      });
      req.on('error', () => {}); // the unsent body is cut short by the close
      req.flushHeaders(); // headers only: not one byte of the body
    });
    expect(got.status).toBe(413);
    expect(got.headers.connection).toBe('close');
    expect(JSON.parse(got.body)).toEqual({ error: 'payload too large' });
    expect(calls).toBe(0);
  });

  it('answers 413 to a chunked body as soon as it passes the limit, and closes the socket', async () => {
    let calls = 0;
    server = await startHttpServer({
      'POST /hook': async () => { calls++; return { status: 200 }; },
    }, { host: '127.0.0.1', port: 0, log: pino({ level: 'silent' }) });
    const url = new URL(server.url);
    const socket = connect(Number(url.port), url.hostname);
    socket.on('error', () => {}); // the trickle written after the server's close
    let answer = '';
    socket.on('data', (c: Buffer) => { answer += c.toString('latin1'); });
    const closed = new Promise<string>((resolve) => socket.once('close', () => resolve('closed')));
    const chunk = (n: number) => Buffer.concat([Buffer.from(`${n.toString(16)}\r\n`), Buffer.alloc(n, 0x61), Buffer.from('\r\n')]);
    socket.write('POST /hook HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n');
    // one byte past the limit, then a body that keeps going and never ends: a slow endless upload
    for (let sent = 0; sent < 4 * 1024 * 1024; sent += 64 * 1024) {
      if (!socket.write(chunk(64 * 1024))) await new Promise((r) => socket.once('drain', r));
    }
    socket.write(chunk(1));
    const trickle = setInterval(() => { if (!socket.destroyed) socket.write(chunk(1024)); }, 20);
    const outcome = await Promise.race([closed, new Promise<string>((r) => setTimeout(() => r('still open'), 5000))]);
    clearInterval(trickle);
    socket.destroy();
    expect(outcome).toBe('closed');
    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(answer.toLowerCase()).toContain('connection: close');
    expect(answer).toContain('{"error":"payload too large"}');
    expect(calls).toBe(0);
  });

  it('keeps a normal request\'s connection open for the next one', async () => {
    server = await startHttpServer({
      'POST /hook': async (_req, _url, raw) => ({ status: 200, body: { n: raw.length } }),
    }, { host: '127.0.0.1', port: 0, log: pino({ level: 'silent' }) });
    const r = await fetch(`${server.url}/hook`, { method: 'POST', body: 'x'.repeat(1000) });
    expect(r.status).toBe(200);
    expect(r.headers.get('connection')).toBe('keep-alive');
    expect(await r.json()).toEqual({ n: 1000 });
  });

  it('answers 400 to a request target that is not a URL, and keeps serving', async () => {
    server = await startHttpServer({ 'GET /x': async () => ({ status: 200, body: 'ok' }) }, { host: '127.0.0.1', port: 0, log: pino({ level: 'silent' }) });
    const answer = await rawRequest(server.url, 'GET http://[ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect((await fetch(`${server.url}/x`)).status).toBe(200);
  });

  it('answers 500 to a handler that throws, without its message or stack, and keeps serving', async () => {
    server = await startHttpServer({
      'GET /boom': async () => { throw new Error('postgres://ponte:hunter2@db/ponte refused'); },
      'GET /x': async () => ({ status: 200, body: 'ok' }),
    }, { host: '127.0.0.1', port: 0, log: pino({ level: 'silent' }) });
    const r = await fetch(`${server.url}/boom`);
    expect(r.status).toBe(500);
    expect(await r.text()).toBe('{"error":"internal error"}');
    expect((await fetch(`${server.url}/x`)).status).toBe(200);
  });

  it('ends a request whose body trickles in past the request timeout (slowloris), and one that never finishes its headers', async () => {
    server = await startHttpServer({ 'POST /hook': async () => ({ status: 200 }) },
      { host: '127.0.0.1', port: 0, log: pino({ level: 'silent' }), timeouts: { headersMs: 300, requestMs: 300, checkEveryMs: 50 } });
    const url = new URL(server.url);
    const held = (start: string) => new Promise<string>((resolve) => {
      const socket = connect(Number(url.port), url.hostname);
      let answer = '';
      socket.on('data', (c: Buffer) => { answer += c.toString('latin1'); });
      socket.on('error', () => {});
      // one byte at a time, never the end: only the server's timeout can end this
      const trickle = setInterval(() => { if (!socket.destroyed) socket.write('a'); }, 20);
      socket.once('close', () => { clearInterval(trickle); resolve(answer); });
      socket.write(start);
    });
    const [body, headers] = await Promise.all([
      held('POST /hook HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n'),
      held('POST /hook HTTP/1.1\r\nHost: x\r\nX-Slow: '),
    ]);
    expect(body).toMatch(/^HTTP\/1\.1 408 /);
    expect(headers).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('marks every answer nosniff, so an echoed text is never rendered as HTML', async () => {
    server = await startHttpServer({ 'GET /echo': async (_req, url) => ({ status: 200, body: url.searchParams.get('s') ?? '' }) }, { host: '127.0.0.1', port: 0, log: pino({ level: 'silent' }) });
    const r = await fetch(`${server.url}/echo?s=${encodeURIComponent('<script>alert(1)</script>')}`);
    expect(r.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect((await fetch(`${server.url}/nothing`)).headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('answers 503 to a body that would pass what all requests may hold together, and takes it again once memory is freed', async () => {
    let release!: () => void;
    const released = new Promise<void>((r) => { release = r; });
    let entered!: () => void;
    const inHandler = new Promise<void>((r) => { entered = r; });
    const seen: number[] = [];
    server = await startHttpServer({
      'POST /slow': async (_req, _url, raw) => { entered(); await released; return { status: 200, body: { n: raw.length } }; },
      'POST /hook': async (_req, _url, raw) => { seen.push(raw.length); return { status: 200 }; },
      'GET /x': async () => ({ status: 200 }),
    }, { host: '127.0.0.1', port: 0, log: pino({ level: 'silent' }), bodyBudget: 1000 });
    const slow = fetch(`${server.url}/slow`, { method: 'POST', body: 'a'.repeat(600) });
    await inHandler; // 600 bytes held
    const busy = await fetch(`${server.url}/hook`, { method: 'POST', body: 'b'.repeat(500) });
    expect(busy.status).toBe(503);
    expect(await busy.json()).toEqual({ error: 'busy, retry later' });
    expect((await fetch(`${server.url}/hook`, { method: 'POST', body: 'c'.repeat(400) })).status).toBe(200); // fits
    expect((await fetch(`${server.url}/x`)).status).toBe(200); // no body, nothing to hold
    release();
    expect(await (await slow).json()).toEqual({ n: 600 });
    expect((await fetch(`${server.url}/hook`, { method: 'POST', body: 'b'.repeat(500) })).status).toBe(200);
    expect(seen).toEqual([400, 500]);
  });

  it('frees what an upload cut short had reserved', async () => {
    let failed!: () => void;
    const handlerFailed = new Promise<void>((r) => { failed = r; });
    const log = pino({ level: 'error' }, { write: (l: string) => { if (l.includes('HTTP handler failed')) failed(); } });
    server = await startHttpServer({ 'POST /hook': async () => ({ status: 200 }) }, { host: '127.0.0.1', port: 0, log, bodyBudget: 1000 });
    const url = new URL(server.url);
    const socket = connect(Number(url.port), url.hostname);
    socket.on('error', () => {});
    socket.write('POST /hook HTTP/1.1\r\nHost: x\r\nContent-Length: 600\r\n\r\n' + 'a'.repeat(100), () => socket.destroy());
    await handlerFailed; // the server saw the upload end short
    expect((await fetch(`${server.url}/hook`, { method: 'POST', body: 'b'.repeat(600) })).status).toBe(200);
  });
});

/** Writes `request` as is on a new connection and resolves with all the server answered. */
function rawRequest(origin: string, request: string): Promise<string> {
  const url = new URL(origin);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    let answer = '';
    socket.on('data', (c: Buffer) => { answer += c.toString('latin1'); });
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
    socket.write(request);
  });
}

describe('close() at a stop', () => {
  const log = pino({ level: 'silent' });
  const state = (p: Promise<unknown>) => Promise.race([p.then(() => 'settled', () => 'settled'), new Promise((r) => setTimeout(() => r('pending'), 150))]);

  it('lets a request being handled finish and get its answer before the server is gone', async () => {
    const g = gate();
    let entered!: () => void;
    const inHandler = new Promise<void>((r) => { entered = r; });
    server = await startHttpServer({ 'POST /hook': async () => { entered(); await g.opened; return { status: 200, body: { stored: true } }; } }, { host: '127.0.0.1', port: 0, log });
    const answer = fetch(`${server.url}/hook`, { method: 'POST', body: '{}' });
    await inHandler;
    const closing = server.close();
    server = null;
    expect(await state(closing)).toBe('pending');
    g.open();
    const r = await answer;
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ stored: true });
    await closing;
  });

  it('waits for a follow-up the answer left running', async () => {
    const g = gate();
    let followed = false;
    server = await startHttpServer({ 'POST /hook': async () => ({ status: 200, after: async () => { await g.opened; followed = true; } }) }, { host: '127.0.0.1', port: 0, log });
    expect((await fetch(`${server.url}/hook`, { method: 'POST', body: '{}' })).status).toBe(200);
    const closing = server.close();
    server = null;
    expect(await state(closing)).toBe('pending');
    g.open();
    await closing;
    expect(followed).toBe(true);
  });

  it('answers the request it was handling with "Connection: close" and ends that connection, so a kept-alive client sends nothing more on it', async () => {
    const g = gate();
    let entered!: () => void;
    const inHandler = new Promise<void>((r) => { entered = r; });
    server = await startHttpServer({
      'POST /hook': async () => { entered(); await g.opened; return { status: 200, body: { stored: true } }; },
      'GET /x': async () => ({ status: 200, body: { second: true } }),
    }, { host: '127.0.0.1', port: 0, log });
    const { port } = new URL(server.url);
    const socket = connect(Number(port), '127.0.0.1');
    let received = '';
    let ended = false;
    let failed: Error | undefined;
    socket.on('data', (d: Buffer) => { received += d.toString(); });
    socket.on('end', () => { ended = true; });
    socket.on('error', (e) => { failed = e; });
    const gone = new Promise<void>((r) => socket.on('close', () => r()));
    // The webhook, then a second request pipelined behind it on the same connection.
    socket.write('POST /hook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}GET /x HTTP/1.1\r\nHost: x\r\n\r\n');
    await inHandler;
    const closing = server.close();
    server = null;
    g.open();
    await closing;
    await gone;
    expect(failed).toBeUndefined();
    expect(ended).toBe(true); // a clean end (FIN), not a reset
    expect(received).toMatch(/^HTTP\/1\.1 200 /);
    expect(received).toMatch(/\r\nconnection: close\r\n/i);
    expect(received).toContain('{"stored":true}');
    // The pipelined request is not answered on this connection: the client sends it again on a new one.
    expect(received.match(/HTTP\/1\.1 /g)).toHaveLength(1);
  });

  it('does not wait past drainMs for a handler that never ends, nor at all when nothing is in flight', async () => {
    let entered!: () => void;
    const inHandler = new Promise<void>((r) => { entered = r; });
    const stuck = await startHttpServer({ 'POST /hook': async () => { entered(); return new Promise<never>(() => {}); } }, { host: '127.0.0.1', port: 0, log, drainMs: 300 });
    const answer = fetch(`${stuck.url}/hook`, { method: 'POST', body: '{}' }).then(() => 'answered', () => 'cut');
    await inHandler;
    const t0 = performance.now();
    await stuck.close();
    const took = performance.now() - t0;
    expect(took).toBeGreaterThanOrEqual(250);
    expect(took).toBeLessThan(3_000);
    expect(await answer).toBe('cut');

    const idle = await startHttpServer({ 'GET /x': async () => ({ status: 200 }) }, { host: '127.0.0.1', port: 0, log, drainMs: 10_000 });
    expect((await fetch(`${idle.url}/x`)).status).toBe(200); // its keep-alive connection stays open, idle
    const t1 = performance.now();
    await idle.close();
    expect(performance.now() - t1).toBeLessThan(2_000);
  });
});
