// The server `ponte run` starts hands each route the raw body bytes (the webhook signature is over
// them) and refuses a body past its limit before any handler sees it.
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { startHttpServer, type HttpServer } from '../../src/server/http-server.js';

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
});
