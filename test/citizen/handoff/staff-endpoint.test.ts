// The staff endpoint gets the conversation in clear with the Bearer token: a redirect must not
// carry either anywhere else (the configured URL is the one that was checked to be https).
import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { StaffEndpoint, type StaffEvent } from '../../../src/citizen/handoff/staff-endpoint.js';

const servers: Server[] = [];
afterEach(async () => { await Promise.all(servers.splice(0).map((s) => new Promise((r) => { s.closeAllConnections(); s.close(r); }))); });

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
