// The messaging limit read from the Cloud API (pull) in both encodings Meta uses, stored, and
// spent by the planner; an unknown tier is an error, not a guess.
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import axios from 'axios';
import { fetchMessagingLimit, parseTier, readMessagingLimit, saveMessagingLimit } from '../../src/broadcast/messaging-limit.js';
import { testStore, type TestStore } from '../helpers/store.js';

let server: Server | undefined;
let store: TestStore | undefined;
afterEach(async () => { server?.close(); await store?.close(); });

function graph(tier: unknown): Promise<{ url: string; seen: string[] }> {
  const seen: string[] = [];
  server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url} ${req.headers.authorization}`);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ whatsapp_business_manager_messaging_limit: tier, id: '106540352242922' }));
  });
  return new Promise((r) => server!.listen(0, '127.0.0.1', () => r({ url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}`, seen })));
}

describe('messaging limit', () => {
  it('parses both encodings (TIER_* strings and integers, -1 unlimited) and refuses unknown ones', () => {
    expect(parseTier('TIER_250')).toBe(250);
    expect(parseTier('TIER_2K')).toBe(2000);
    expect(parseTier('TIER_UNLIMITED')).toBe(-1);
    expect(parseTier(10000)).toBe(10000);
    expect(parseTier(-1)).toBe(-1);
    expect(parseTier('TIER_NOT_SET')).toBeNull();
    expect(parseTier(0)).toBeNull();
  });

  it('is read from GET /<phone-number-id>?fields=whatsapp_business_manager_messaging_limit and stored', async () => {
    const g = await graph('TIER_2K');
    const l = await fetchMessagingLimit(axios.create(), { graphUrl: g.url, version: 'v24.0', phoneNumberId: '106540352242922', token: 't0k' });
    expect(l).toEqual({ limit: 2000, tier: 'TIER_2K' });
    expect(g.seen).toEqual(['GET /v24.0/106540352242922?fields=whatsapp_business_manager_messaging_limit Bearer t0k']);
    store = await testStore('sqlite');
    expect((await readMessagingLimit(store.knex, '106540352242922')).limit).toBe(250); // never read: Meta's starting tier
    await saveMessagingLimit(store.knex, '106540352242922', l, 1000);
    await saveMessagingLimit(store.knex, '106540352242922', { limit: 10000, tier: 'TIER_10K' }, 2000);
    expect(await readMessagingLimit(store.knex, '106540352242922')).toEqual({ limit: 10000, tier: 'TIER_10K', checkedAt: 2000 });
  });

  it('an unknown tier fails loudly', async () => {
    const g = await graph('TIER_42');
    await expect(fetchMessagingLimit(axios.create(), { graphUrl: g.url, version: 'v24.0', phoneNumberId: '1', token: 't' })).rejects.toThrow(/unknown messaging limit tier "TIER_42"/);
  });
});
