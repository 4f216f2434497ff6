// Throughput per business number and spacing per recipient. The sandbox is the judge: it
// enforces the same limits on arrival and would answer 130429 / 131056.
import { afterEach, expect, it } from 'vitest';
import { ChannelError } from '../../../src/channels/channel.js';
import type { WhatsappChannel } from '../../../src/channels/whatsapp/index.js';
import type { WhatsappSandbox } from '../../../src/sandbox/whatsapp/index.js';
import { delivery, makeChannel, maxInAnyWindow, mobile, startSandbox } from './helpers.js';

let sandbox: WhatsappSandbox | undefined;
let channel: WhatsappChannel | undefined;
afterEach(async () => {
  channel?.close();
  await sandbox?.close();
  channel = sandbox = undefined;
});

it('50 sends started at once with throughputPerSecond 20: never more than 20 in any second, no 130429', async () => {
  sandbox = await startSandbox({ throughputPerSecond: 20 });
  channel = makeChannel(sandbox.url, { throughputPerSecond: 20 });
  const ch = channel;
  const results = await Promise.all(
    Array.from({ length: 50 }, (_, i) => {
      const ctx = delivery(mobile(i), undefined, undefined, { deliveryId: i + 1 });
      return ch.send(ctx, ch.render(ctx));
    }),
  );
  expect(new Set(results.map((r) => r.providerId)).size).toBe(50);
  expect(sandbox.sends).toHaveLength(50);
  expect(sandbox.stats()).toEqual({ accepted: 50, maxInAnyWindow: 20, limited: 0 });
  expect(maxInAnyWindow(sandbox.requests.map((r) => r.at), 1000)).toBe(20);
});

it('two sends to one recipient back to back: the second is transient with retryAfterMs, another recipient goes at once', async () => {
  sandbox = await startSandbox({ pairLimitMs: 6000 });
  channel = makeChannel(sandbox.url);
  const ch = channel;
  const send = (phone: string, id: number) => {
    const ctx = delivery(phone, undefined, undefined, { deliveryId: id });
    return ch.send(ctx, ch.render(ctx));
  };

  await send(mobile(1), 1);
  const err = await send(mobile(1), 2).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ChannelError);
  expect(err).toMatchObject({ errorClass: 'transient', detail: { code: 'PAIR_SPACING' } });
  const retryAfterMs = (err as ChannelError).detail.retryAfterMs!;
  expect(retryAfterMs).toBeGreaterThan(5000);
  expect(retryAfterMs).toBeLessThanOrEqual(6000);
  expect((err as ChannelError).message).not.toContain('3470000001');

  await send(mobile(2), 3);
  expect(sandbox.sends.map((s) => [s.to, s.opaque])).toEqual([
    [mobile(1), '1'],
    [mobile(2), '3'],
  ]);
  // The refused send never reached the sandbox, which would have answered 131056.
  expect(sandbox.requests.map((r) => r.status)).toEqual([200, 200]);
});

it('a short pause (under ~250 ms) is waited in place instead of refused', async () => {
  // The sandbox judges on arrival: give it a margin under the channel's spacing.
  sandbox = await startSandbox({ pairLimitMs: 150 });
  channel = makeChannel(sandbox.url, { pairSpacingMs: 200 });
  const ch = channel;
  const ctx = delivery(mobile(1));
  const message = ch.render(ctx);
  await Promise.all([ch.send(ctx, message), ch.send(ctx, message)]);
  expect(sandbox.sends).toHaveLength(2);
  expect(sandbox.requests.map((r) => r.status)).toEqual([200, 200]);
});
