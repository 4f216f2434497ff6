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
    const drained = new Dispatcher({ store, channels: new Map([['appio', channel]]), cfg, log: pino({ level: 'silent' }) }).drain();
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
