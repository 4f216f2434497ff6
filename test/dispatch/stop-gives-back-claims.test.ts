// A dispatcher told to stop finishes the sends it started and gives back the deliveries it had
// claimed but not started (its queue, and a claim still running): their leases are cleared, so
// another process or the restart takes them at once instead of after the lease (120 s). Those
// prepared ahead of a free request slot (sendAhead, `sending` already committed) go out too.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import { testStore, type TestStore } from '../helpers/store.js';
import { availableDialects } from '../helpers/databases.js';
import { seedDeliveries } from '../../bench/seed-deliveries.js';
import { Dispatcher } from '../../src/dispatch/dispatcher.js';
import { dispatcherSchema } from '../../src/config/schema.js';
import { stubChannel } from '../helpers/channel.js';

const { run, skipped } = await availableDialects(['sqlite', 'postgres']);
if (skipped.length) console.warn(`[stop-gives-back-claims] skipped: ${skipped.join('; ')}`);

describe.each(run)('stopping the dispatcher on %s', (dialect) => {
  let store: TestStore;
  beforeEach(async () => { store = await testStore(dialect); });
  afterEach(async () => { await store.close(); });

  it('finishes the sends in flight and releases every unstarted claim', async () => {
    const N = 60;
    const concurrency = 4;
    await seedDeliveries(store, N);
    const held: Array<() => void> = [];
    let n = 0;
    let stopping = false;
    const channel = stubChannel({
      send: async () => {
        if (!stopping) await new Promise<void>((resolve) => held.push(resolve));
        return { providerId: `m${++n}` };
      },
    });
    const cfg = dispatcherSchema.parse({ concurrency, batchSize: 20, quickRetries: 0 });
    const dispatcher = new Dispatcher({ store, channels: new Map([['appio', channel]]), cfg, log: pino({ level: 'silent' }) });
    const drained = dispatcher.drain();
    const leased = async () => (await store.knex('deliveries').whereNotNull('lease_token').select('id', 'state')) as Array<{ id: number; state: string }>;

    await vi.waitFor(() => expect(held).toHaveLength(concurrency), { timeout: 5000 });
    // Besides the sends in flight, the dispatcher holds claims it has not started (a batch ahead).
    await vi.waitFor(async () => expect((await leased()).filter((d) => d.state === 'pending').length).toBeGreaterThan(0), { timeout: 5000 });
    dispatcher.stop();
    stopping = true;
    held.splice(0).forEach((open) => open());
    const stats = await drained;

    // The sends in flight, and those whose `sending` was committed ahead of a slot: never more.
    expect(stats.processed).toBeGreaterThanOrEqual(concurrency);
    expect(stats.processed).toBeLessThanOrEqual(concurrency + cfg.sendAhead);
    expect(await leased()).toEqual([]);
    const states = (await store.knex('deliveries').select('state')) as Array<{ state: string }>;
    expect(states.filter((d) => d.state === 'accepted')).toHaveLength(stats.processed);
    expect(states.filter((d) => d.state === 'pending')).toHaveLength(N - stats.processed);

    // A second dispatcher (the restart) takes the rest at once, without waiting for any lease.
    const again = new Dispatcher({ store, channels: new Map([['appio', stubChannel()]]), cfg, log: pino({ level: 'silent' }) });
    expect((await again.drain()).processed).toBe(N - stats.processed);
  });
});
