// A `sending` write cut at store.queryTimeoutSeconds may have committed all the same (its answer
// lost on a frozen connection). Its request never left, so the dispatcher puts the delivery back
// to pending once the store answers, instead of leaving it `sending` to be held uncertain when its
// lease runs out.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import { testStore, type TestStore } from '../helpers/store.js';
import { seedDeliveries } from '../../bench/seed-deliveries.js';
import { Dispatcher } from '../../src/dispatch/dispatcher.js';
import { dispatcherSchema } from '../../src/config/schema.js';
import { DeliveryWriter } from '../../src/store/write-deliveries.js';
import { QueryTimeoutError } from '../../src/store/query-timeout.js';
import { stubChannel } from '../helpers/channel.js';

describe('a sending write cut at the query bound', () => {
  let store: TestStore;
  beforeEach(async () => { store = await testStore('sqlite'); });
  afterEach(async () => { vi.restoreAllMocks(); await store.close(); });

  it('that did commit is put back to pending, no request made, and goes out at the next pass', async () => {
    await seedDeliveries(store, 1);
    const write = DeliveryWriter.prototype.write;
    let cut = false;
    vi.spyOn(DeliveryWriter.prototype, 'write').mockImplementation(async function (this: DeliveryWriter, ...args: Parameters<DeliveryWriter['write']>) {
      await write.apply(this, args);
      if (args[3].state === 'sending' && !cut) {
        cut = true; // committed, but the caller hears the bound ran out
        throw new QueryTimeoutError(30, 'store.queryTimeoutSeconds', 'the store');
      }
    });
    let posted = 0;
    const channel = stubChannel({ send: async () => ({ providerId: `m${++posted}` }) });
    const cfg = dispatcherSchema.parse({ concurrency: 1, batchSize: 10, quickRetries: 0 });
    const dispatcher = new Dispatcher({ store, channels: new Map([['appio', channel]]), cfg, log: pino({ level: 'silent' }) });

    expect((await dispatcher.drain()).outcomes).toEqual({ lost: 1 });
    expect(posted).toBe(0);
    const [row] = (await store.knex('deliveries').select('state', 'attempts', 'lease_token')) as Array<{ state: string; attempts: number; lease_token: string | null }>;
    expect(row).toEqual({ state: 'pending', attempts: 0, lease_token: null });

    expect((await dispatcher.drain()).outcomes).toEqual({ accepted: 1 });
    expect(posted).toBe(1);
  });
});
