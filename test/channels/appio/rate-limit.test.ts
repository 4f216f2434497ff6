// The owner's rate window keeps a burst under IO's limit: the services of one owner share it,
// and profile checks count as much as sends. The sandbox is the judge (its own sliding window).
import { afterEach, expect, it } from 'vitest';
import type { AppioChannel } from '../../../src/channels/appio/index.js';
import { startIoSandbox, type IoSandbox } from '../../../src/sandbox/io/index.js';
import { MARKDOWN, SUBJECT, fiscalCode } from '../../sandbox/fixtures.js';
import { SANDBOX_KEYS, delivery, makeChannel } from './helpers.js';

const LIMIT = { requests: 20, windowMs: 500 };

let sandbox: IoSandbox | undefined;
let channel: AppioChannel | undefined;
afterEach(async () => {
  channel?.close();
  await sandbox?.close();
});

it('a burst of 400 requests over 2 services of one owner gets zero real 429s', async () => {
  sandbox = await startIoSandbox({ keys: SANDBOX_KEYS, limit: LIMIT, processingDelayMs: 0 });
  channel = makeChannel(sandbox.url, { owners: { comune: { ...LIMIT, marginMs: 100 } } });
  const ch = channel;

  // 200 deliveries, each a profile check then a send, alternating services, all started at once.
  const results = await Promise.all(
    Array.from({ length: 200 }, async (_, i) => {
      const ctx = delivery(fiscalCode(i), { service: i % 2 === 0 ? 'anagrafe' : 'tributi' });
      const eligible = await ch.checkRecipient(ctx);
      expect(eligible.ok).toBe(true);
      return ch.send(ctx, { subject: SUBJECT, markdown: MARKDOWN, language: 'it' });
    }),
  );

  expect(new Set(results.map((r) => r.providerId)).size).toBe(200);
  expect(sandbox.messages).toHaveLength(200);
  expect(new Set(sandbox.messages.map((m) => m.service))).toEqual(new Set(['anagrafe', 'tributi']));
  const stats = sandbox.stats().comune!;
  expect(stats.accepted).toBe(400);
  expect(stats.real429).toBe(0);
  // The budget is used in full, not wasted by an over-cautious limiter.
  expect(stats.maxInAnyWindow).toBe(LIMIT.requests);
});
