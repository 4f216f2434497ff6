// A delivery becomes `sending` only once its rate slot is in hand: a process killed while
// deliveries wait for the provider's rate window leaves them pending (they never left), not
// uncertain (held for an operator).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import { testStore, type TestStore } from '../helpers/store.js';
import { seedDeliveries } from '../../bench/seed-deliveries.js';
import { Dispatcher } from '../../src/dispatch/dispatcher.js';
import { dispatcherSchema } from '../../src/config/schema.js';
import type { SendPermit } from '../../src/channels/channel.js';
import { stubChannel } from '../helpers/channel.js';

describe('rate slot before `sending`', () => {
  let store: TestStore;
  beforeEach(async () => { store = await testStore('sqlite'); });
  afterEach(async () => { await store.close(); });

  it('keeps deliveries pending while they wait for a slot, and sends each with the slot it reserved', async () => {
    await seedDeliveries(store, 3);
    // One slot a turn, handed out by the test: the rest wait.
    const waiting: Array<(p: SendPermit) => void> = [];
    const released: number[] = [];
    const sentWith: Array<SendPermit | undefined> = [];
    let n = 0;
    const channel = stubChannel({
      reserveSend: () => new Promise<SendPermit>((resolve) => waiting.push(resolve)),
      send: async (_ctx, _m, permit) => { sentWith.push(permit); return { providerId: `m${++n}` }; },
    });
    const cfg = dispatcherSchema.parse({ concurrency: 3, batchSize: 10, quickRetries: 0 });
    const drained = new Dispatcher({ store, channels: new Map([['appio', channel]]), cfg, log: pino({ level: 'silent' }) }).drain();
    const states = async () => (await store.knex('deliveries').select('state').orderBy('id')).map((r) => r.state as string);

    await vi.waitFor(() => expect(waiting).toHaveLength(3), { timeout: 5000 });
    expect(await states()).toEqual(['pending', 'pending', 'pending']);
    waiting.shift()!({ release: () => released.push(1) });
    await vi.waitFor(async () => expect(await states()).toContain('accepted'), { timeout: 5000 });
    expect((await states()).filter((s) => s === 'pending')).toHaveLength(2);
    for (const grant of waiting.splice(0)) grant({ release: () => released.push(1) });
    await drained;
    expect(await states()).toEqual(['accepted', 'accepted', 'accepted']);
    // Each send used the permit it reserved; none was given back unused.
    expect(sentWith.every((p) => p !== undefined)).toBe(true);
    expect(released).toEqual([]);
  });
});
