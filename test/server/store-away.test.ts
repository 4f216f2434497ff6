// Meta's webhooks keep coming while the store is away (a PostgreSQL restart, a failover). A status
// or a STOP that cannot be stored must not get a 200 (Meta would not send it again) and must not
// log a stack trace each (the outage reporter says it once): 503 with Retry-After, which Meta
// retries until the store is back.
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import knexFactory, { type Knex } from 'knex';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { startHttpServer, STORE_AWAY_RETRY_S, type HttpServer } from '../../src/server/http-server.js';
import { whatsappWebhookRoutes } from '../../src/webhooks/whatsapp.js';
import { whatsappSchema } from '../../src/config/schema.js';
import { StoreOutage } from '../../src/store/outage.js';
import { closedPort } from '../helpers/closed-port.js';

const APP_SECRET = 'app-secret';
const STATUS = readFileSync(new URL('../fixtures/whatsapp/status-delivered.json', import.meta.url));

let server: HttpServer | undefined;
let knex: Knex | undefined;
let outage: StoreOutage | undefined;
afterEach(async () => {
  await server?.close();
  await knex?.destroy();
  outage?.close();
  server = knex = outage = undefined;
});

async function world(withStoreAway: boolean) {
  const lines: Array<{ msg: string }> = [];
  const log = pino({ level: 'info' }, new Writable({ write(chunk, _enc, done) { lines.push(JSON.parse(String(chunk))); done(); } }));
  const port = await closedPort();
  knex = knexFactory({ client: 'pg', connection: `postgres://postgres@127.0.0.1:${port}/test`, pool: { min: 0, max: 2 }, acquireConnectionTimeout: 2_000,
    log: { warn() {}, error() {}, debug() {}, deprecate() {} } });
  const where = `PostgreSQL 127.0.0.1:${port}/test`;
  outage = new StoreOutage(where, log);
  outage.probe(knex);
  const o = outage;
  server = await startHttpServer(whatsappWebhookRoutes({
    knex, appSecret: APP_SECRET, verifyToken: 'v', cfg: whatsappSchema.parse({ phoneNumberId: '106540352242922' }), log,
    reply: async () => undefined,
  }), { host: '127.0.0.1', port: 0, log, ...(withStoreAway ? { storeAway: (e: unknown) => o.report(e) } : {}) });
  const post = () => fetch(`${server!.url}/webhooks/whatsapp`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Hub-Signature-256': `sha256=${createHmac('sha256', APP_SECRET).update(STATUS).digest('hex')}` },
    body: STATUS,
  });
  return { lines, post, where };
}

describe('a webhook while the store is away', () => {
  it('gets 503 with Retry-After, and the outage is logged once, not a stack trace per webhook', async () => {
    const w = await world(true);
    for (let i = 0; i < 3; i++) {
      const r = await w.post();
      expect(r.status).toBe(503);
      expect(r.headers.get('retry-after')).toBe(String(STORE_AWAY_RETRY_S));
    }
    expect(w.lines.filter((l) => l.msg.startsWith('store unreachable')).map((l) => l.msg.split(':')[0])).toEqual(['store unreachable']);
    expect(w.lines.filter((l) => l.msg.includes(w.where))).toHaveLength(1);
    expect(w.lines.filter((l) => l.msg === 'HTTP handler failed')).toEqual([]);
  });

  it('without the outage hook, it would be a 500 and a stack trace each (what the hook replaces)', async () => {
    const w = await world(false);
    expect((await w.post()).status).toBe(500);
    expect((await w.post()).status).toBe(500);
    expect(w.lines.filter((l) => l.msg === 'HTTP handler failed')).toHaveLength(2);
  });
});
