// sendAhead: more deliveries are worked than provider requests are in flight. The extra ones get
// their checks, rate slot and durable `sending` while the requests ahead of them are out, so a
// freed request slot is taken at once. Provider calls in flight never exceed `concurrency`, and
// deliveries `sending` but not yet posted (what a SIGKILL would leave uncertain) never exceed
// `sendAhead` beyond the requests in flight.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import { testStore, type TestStore } from '../helpers/store.js';
import { seedDeliveries } from '../../bench/seed-deliveries.js';
import { Dispatcher } from '../../src/dispatch/dispatcher.js';
import { dispatcherSchema } from '../../src/config/schema.js';
import { stubChannel } from '../helpers/channel.js';

describe.each([0, 3])('sendAhead %i', (sendAhead) => {
  let store: TestStore;
  beforeEach(async () => { store = await testStore('sqlite'); });
  afterEach(async () => { await store.close(); });

  it('keeps provider calls within concurrency and prepares at most sendAhead more', async () => {
    const N = 20;
    await seedDeliveries(store, N);
    let inFlight = 0;
    let maxInFlight = 0;
    const call = async <T>(fn: () => Promise<T>): Promise<T> => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      try { return await fn(); } finally { inFlight--; }
    };
    // Sends are held until the test opens the gate; profile checks answer at once.
    const held: Array<() => void> = [];
    let n = 0;
    const channel = stubChannel({
      checkRecipient: () => call(async () => ({ ok: true as const })),
      send: () => call(async () => {
        await new Promise<void>((resolve) => held.push(resolve));
        return { providerId: `m${++n}` };
      }),
    });
    const concurrency = 4;
    const cfg = dispatcherSchema.parse({ concurrency, sendAhead, batchSize: 50, quickRetries: 0 });
    const dispatcher = new Dispatcher({ store, channels: new Map([['appio', channel]]), cfg, log: pino({ level: 'silent' }) });
    // Latencies that call for all of sendAhead (commits far slower than requests): the ceiling is what is tested here.
    dispatcher.sendAhead.committed(5);
    dispatcher.sendAhead.sent(1);
    expect(dispatcher.sendAhead.now).toBe(sendAhead);
    const drained = dispatcher.drain();
    const count = async (state: string) => Number(((await store.knex('deliveries').where({ state }).count({ c: '*' })) as [{ c: number }])[0].c);

    await vi.waitFor(async () => expect(await count('sending')).toBe(concurrency + sendAhead), { timeout: 5000 });
    await new Promise((r) => setTimeout(r, 50)); // nothing more moves while the sends are held
    expect(held).toHaveLength(concurrency);
    expect(await count('sending')).toBe(concurrency + sendAhead);
    expect(await count('pending')).toBe(N - concurrency - sendAhead);

    // One answer frees one request slot, and the next delivery's send takes it.
    held.shift()!();
    await vi.waitFor(() => expect(held).toHaveLength(concurrency), { timeout: 5000 });
    while (held.length || n < N) {
      held.splice(0).forEach((open) => open());
      await new Promise((r) => setTimeout(r, 5));
    }
    await drained;
    expect(await count('accepted')).toBe(N);
    expect(maxInFlight).toBe(concurrency);
  });
});

// How many are prepared ahead follows the latencies measured (send-ahead.ts): a provider that takes
// its time needs few prepared sends to keep its request slots busy, and each more would only be a
// `sending` that has not left; one that answers at once needs them all.
describe('sendAhead follows the measured latencies', () => {
  let store: TestStore;
  beforeEach(async () => { store = await testStore('sqlite'); });
  afterEach(async () => { await store.close(); });

  const run = async (sendMs: number) => {
    const N = 200;
    await seedDeliveries(store, N);
    let inFlight = 0;
    let sends = 0;
    /** `sending` rows whose request had not left, seen as each later send started (after the first 50). */
    let mostAhead = 0;
    const channel = stubChannel({
      send: async () => {
        inFlight++;
        try {
          if (++sends > 50) {
            const sending = Number(((await store.knex('deliveries').where({ state: 'sending' }).count({ c: '*' })) as [{ c: number }])[0].c);
            mostAhead = Math.max(mostAhead, sending - inFlight);
          }
          if (sendMs) await new Promise((r) => setTimeout(r, sendMs));
          return { providerId: `m${sends}` };
        } finally { inFlight--; }
      },
    });
    const cfg = dispatcherSchema.parse({ concurrency: 4, sendAhead: 32, batchSize: 50, quickRetries: 0 });
    const dispatcher = new Dispatcher({ store, channels: new Map([['appio', channel]]), cfg, log: pino({ level: 'silent' }) });
    expect((await dispatcher.drain()).processed).toBe(N);
    return { mostAhead, now: dispatcher.sendAhead.now, ...dispatcher.sendAhead.latencies };
  };

  it('a provider taking 25 ms: a few prepared, not the 32 allowed', async () => {
    const r = await run(25);
    // 2 × 4 slots × a commit of about a millisecond ÷ 25 ms: 1; a slow commit on a busy host, a few.
    expect(r.sendMs).toBeGreaterThan(20);
    expect(r.now).toBeLessThanOrEqual(Math.max(1, Math.ceil((2 * 4 * r.commitMs!) / r.sendMs!)));
    expect(r.mostAhead).toBeLessThan(12);
  });

  it('a provider answering at once: all 32 allowed', async () => {
    const r = await run(0);
    expect(r.now).toBe(32);
  });
});
