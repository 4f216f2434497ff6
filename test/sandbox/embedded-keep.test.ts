// The sandboxes a `ponte run` in sandbox mode embeds (createApp) keep only the latest
// EMBEDDED_KEEP_REQUESTS requests: a daemon left running for weeks on the demo config must not
// grow with every request it made. Tests that start a sandbox themselves keep every request.
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/app/context.js';
import { loadConfig } from '../../src/config/load.js';
import { EMBEDDED_KEEP_REQUESTS } from '../../src/sandbox/recorded.js';
import { scratchWorkdir } from '../helpers/cli.js';

/** `count` GETs of a path no route serves (each is still recorded), 16 at a time on kept-alive sockets. */
async function hit(baseUrl: string, count: number): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  const url = new URL('/no-such-route', baseUrl);
  let sent = 0;
  const one = (): Promise<void> => new Promise((done, fail) => {
    const req = request(url, { agent }, (res) => { res.resume(); res.on('end', done); });
    req.on('error', fail);
    req.end();
  });
  try {
    await Promise.all(Array.from({ length: 16 }, async () => { while (sent < count) { sent++; await one(); } }));
  } finally {
    agent.destroy();
  }
}

describe('the sandboxes embedded by createApp (sandbox mode)', () => {
  it('keep only the latest EMBEDDED_KEEP_REQUESTS requests, IO and WhatsApp alike', async () => {
    const dir = scratchWorkdir();
    const config = loadConfig(join(dir, 'config/ponte.yaml'));
    // The demo config's paths are relative to where ponte runs: here, the scratch folder.
    config.store = { ...config.store, filename: join(dir, 'data/ponte.sqlite') };
    config.sandbox!.io!.stateFile = join(dir, 'data/io-sandbox.jsonl');
    const app = await createApp({ configFile: join(dir, 'config/ponte.yaml'), config, log: pino({ level: 'silent' }), env: {} });
    try {
      const io = app.sandbox!;
      const wa = app.whatsappSandbox!;
      // Past the bound and past its trim (a tenth over it): a sandbox keeping all would hold them all.
      const count = EMBEDDED_KEEP_REQUESTS + Math.ceil(EMBEDDED_KEEP_REQUESTS / 10) + 1;
      await Promise.all([hit(io.url, count), hit(wa.url, count)]);
      for (const s of [io, wa]) {
        expect(s.requests).toHaveLength(EMBEDDED_KEEP_REQUESTS);
        expect(s.requests.at(-1)).toMatchObject({ method: 'GET', path: '/no-such-route' });
      }
    } finally {
      await app.close();
    }
  });
});
