import { createServer, type Agent, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { providerHttp } from '../../src/channels/http-client.js';

let server: Server;
let url: string;

beforeAll(async () => {
  server = createServer((_req, res) => { res.setHeader('content-type', 'application/json'); res.end('{"id":"m"}'); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}/api`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

type Handle = { setKeepAlive(enable: boolean, delay: number): unknown };

// Setting TCP keep-alive is four setsockopt calls. axios (60 s) and the agent (its default, 1 s)
// disagreed on the delay and set it back and forth twice per request: 8 system calls each.
it('sets TCP keep-alive on a pooled socket once, not at every request', async () => {
  const client = providerHttp(5_000);
  try {
    await client.http.post(url, { n: 0 });
    const agent = client.http.defaults.httpAgent as Agent;
    const pooled = Object.values(agent.freeSockets).flat() as Socket[];
    expect(pooled).toHaveLength(1);
    const socket = pooled[0]!;
    const handle = (socket as unknown as { _handle: Handle })._handle;
    const set = handle.setKeepAlive.bind(handle);
    let calls = 0;
    handle.setKeepAlive = (enable, delay) => { calls++; return set(enable, delay); };

    for (let i = 1; i <= 20; i++) expect((await client.http.post(url, { n: i })).data).toEqual({ id: 'm' });

    expect(Object.values(agent.freeSockets).flat()).toEqual([socket]); // the same socket served them all
    expect(calls).toBe(0);
  } finally {
    client.close();
  }
});
