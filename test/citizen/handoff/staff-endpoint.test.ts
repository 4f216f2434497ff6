// The staff endpoint gets the conversation in clear with the Bearer token: a redirect must not
// carry either anywhere else (the configured URL is the one that was checked to be https). The
// staff routes take that token back, and refuse everyone while it is unset.
import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { StaffEndpoint, type StaffEvent } from '../../../src/citizen/handoff/staff-endpoint.js';
import { staffRoutes } from '../../../src/citizen/handoff/staff-routes.js';
import { startHttpServer, type HttpServer } from '../../../src/server/http-server.js';

const servers: Server[] = [];
const httpServers: HttpServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => { s.closeAllConnections(); s.close(r); })));
  await Promise.all(httpServers.splice(0).map((s) => s.close()));
});

async function serve(handle: (url: string, body: string, auth: string | undefined) => { status: number; location?: string }): Promise<string> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => { body += c.toString('utf8'); });
    req.on('end', () => {
      const r = handle(req.url ?? '/', body, req.headers.authorization);
      res.writeHead(r.status, r.location ? { Location: r.location } : {});
      res.end();
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const a = server.address() as { port: number };
  return `http://127.0.0.1:${a.port}`;
}

const event: StaffEvent = { event: 'handoff', conversation: { phone: '+393471234567', state: 'human', officeOpen: true }, messages: [{ id: 'wamid.1', text: 'voglio parlare con una persona', type: 'text', at: 1 }] };

describe('StaffEndpoint', () => {
  it('does not follow a redirect: the conversation and token stay with the configured URL, and the hand-off counts as not taken', async () => {
    const elsewhere: string[] = [];
    const other = await serve((url, body, auth) => { elsewhere.push(`${url} ${auth ?? ''} ${body}`); return { status: 200 }; });
    const staff = await serve(() => ({ status: 307, location: `${other}/collect` }));
    const login = await serve(() => ({ status: 302, location: `${other}/login` })); // an SSO page in front of the endpoint
    const post = (url: string) => new StaffEndpoint({ url: `${url}/handoff`, tokenEnv: 'T', env: { T: 'staff-token' }, timeoutMs: 2000 }).post(event);
    expect(await post(staff)).toBe(false);
    expect(await post(login)).toBe(false);
    expect(elsewhere).toEqual([]);
  });

  it('posts the event with the Bearer token to the configured URL', async () => {
    const seen: string[] = [];
    const staff = await serve((url, body, auth) => { seen.push(`${url} ${auth ?? ''} ${JSON.parse(body).event}`); return { status: 204 }; });
    expect(await new StaffEndpoint({ url: `${staff}/handoff`, tokenEnv: 'T', env: { T: 'staff-token' }, timeoutMs: 2000 }).post(event)).toBe(true);
    expect(seen).toEqual(['/handoff Bearer staff-token handoff']);
  });
});

describe('staff routes', () => {
  const start = async (env: NodeJS.ProcessEnv, lines: string[] = []) => {
    const log = pino({ level: 'info' }, { write: (l: string) => { lines.push(l); } });
    // The store and WhatsApp are never reached by a refused request.
    const unused = new Proxy({}, { get: () => { throw new Error('reached past the guard'); } }) as never;
    const server = await startHttpServer(staffRoutes({ knex: unused, tokenEnv: 'PONTE_HANDOFF_TOKEN', env, log, sendText: unused }), { host: '127.0.0.1', port: 0, log });
    httpServers.push(server);
    return (auth: string | undefined) => fetch(`${server.url}/staff/close`, { method: 'POST', headers: auth ? { Authorization: auth } : {}, body: '{}' });
  };

  it('refuse everyone while the token variable is unset, even a request with an empty Bearer', async () => {
    const post = await start({ PONTE_HANDOFF_TOKEN: '' });
    for (const auth of [undefined, 'Bearer ', 'Bearer x']) {
      const r = await post(auth);
      expect(r.status).toBe(503);
      expect(await r.json()).toEqual({ error: 'staff replies are disabled: set environment variable PONTE_HANDOFF_TOKEN' });
    }
  });

  it('refuse everyone while the token is short enough to be guessed, saying so once in the log, without the token', async () => {
    const lines: string[] = [];
    const post = await start({ PONTE_HANDOFF_TOKEN: 'ciao-comune-2026' }, lines);
    for (const auth of ['Bearer ciao-comune-2026', 'Bearer ciao-comune-2026', undefined]) {
      const r = await post(auth);
      expect(r.status).toBe(503);
      expect(await r.json()).toEqual({ error: 'staff replies are disabled: the token in environment variable PONTE_HANDOFF_TOKEN has 16 characters, at least 24 are needed (e.g. `openssl rand -hex 32`)' });
    }
    expect(lines.filter((l) => l.includes('has 16 characters'))).toHaveLength(1);
    expect(lines.join('')).not.toContain('ciao-comune');
  });

  it('refuse a missing, wrong, longer or shorter token, and log each refusal without the token', async () => {
    const lines: string[] = [];
    const post = await start({ PONTE_HANDOFF_TOKEN: 'staff-token-0123456789abcdef' }, lines);
    for (const auth of [undefined, 'Bearer staff-token-0123456789abcde', 'Bearer staff-token-0123456789abcdef0', 'Bearer STAFF-TOKEN-0123456789', 'Basic staff-token-0123456789abcdef', 'staff-token-0123456789abcdef']) {
      expect((await post(auth)).status, auth).toBe(401);
    }
    expect(lines.filter((l) => l.includes('staff route refused'))).toHaveLength(6);
    expect(lines.join('')).not.toContain('staff-token');
    // the right token passes the guard (and meets the body check)
    expect((await post('Bearer staff-token-0123456789abcdef')).status).toBe(400);
  });
});
