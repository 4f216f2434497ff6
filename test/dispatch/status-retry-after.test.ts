// A status read answered 429 with a retry-after longer than the poll schedule's next step: the
// next read waits for it (the schedule alone would read again in 30 s, into the same 429).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { testStore, type TestStore } from '../helpers/store.js';
import { seedDeliveries } from '../../bench/seed-deliveries.js';
import { Dispatcher } from '../../src/dispatch/dispatcher.js';
import { dispatcherSchema } from '../../src/config/schema.js';
import { ChannelError } from '../../src/channels/channel.js';
import { stubChannel } from '../helpers/channel.js';

describe('status poll after a 429', () => {
  let store: TestStore;
  beforeEach(async () => { store = await testStore('sqlite'); });
  afterEach(async () => { await store.close(); });

  it("waits at least the provider's retry-after, and the schedule's step when that is longer", async () => {
    await seedDeliveries(store, 2);
    let now = Date.now();
    const retryAfter = [600_000, 1_000];
    const channel = stubChannel({
      status: async () => { throw new ChannelError('io: GET /messages → 429', 'transient', { status: 429, retryAfterMs: retryAfter.shift()! }); },
    });
    const cfg = dispatcherSchema.parse({ concurrency: 1, batchSize: 1, quickRetries: 0, statusPollSeconds: [5, 30, 120] });
    const dispatcher = () => new Dispatcher({ store, channels: new Map([['appio', channel]]), cfg, log: pino({ level: 'silent' }), clock: () => now });
    await dispatcher().drain(); // both sent: accepted, first read due in 5 s
    const due = async () => (await store.knex('deliveries').select('id', 'state', 'next_attempt_at').orderBy('id')).map((r) => [r.state, Number(r.next_attempt_at) - now]);
    expect((await due()).map(([s]) => s)).toEqual(['accepted', 'accepted']);
    now += 6_000;
    await dispatcher().drain();
    const [first, second] = await due();
    expect(first).toEqual(['accepted', 600_000]); // 10 min asked: not 30 s
    expect(second).toEqual(['accepted', 30_000]); // 1 s asked: the schedule's own 30 s
  });
});
