// A channel whose eligibility check makes no provider request (WhatsApp: the consent ledger)
// declares it with `localCheck`: the check then neither waits for a provider slot behind real
// requests nor lands in the attempts log as a provider call. A check that does call the provider
// (IO's profile) still takes a slot and is logged.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import { testStore, type TestStore } from '../helpers/store.js';
import { seedDeliveries } from '../../bench/seed-deliveries.js';
import { Dispatcher } from '../../src/dispatch/dispatcher.js';
import { dispatcherSchema } from '../../src/config/schema.js';
import { stubChannel } from '../helpers/channel.js';

describe.each([true, false])('localCheck %s', (localCheck) => {
  let store: TestStore;
  beforeEach(async () => { store = await testStore('sqlite'); });
  afterEach(async () => { await store.close(); });

  it(localCheck ? 'runs checks beside each other whatever the provider slots, and logs only the sends' : 'checks within the provider slots, and logs the checks', async () => {
    await seedDeliveries(store, 2);
    // One provider slot, one delivery prepared ahead; every check is held until the test answers it.
    const held: Array<() => void> = [];
    const channel = {
      ...stubChannel({ checkRecipient: () => new Promise((resolve) => held.push(() => resolve({ ok: true as const }))) }),
      localCheck,
    };
    const cfg = dispatcherSchema.parse({ concurrency: 1, sendAhead: 1, batchSize: 10, quickRetries: 0 });
    const drained = new Dispatcher({ store, channels: new Map([['appio', channel]]), cfg, log: pino({ level: 'silent' }) }).drain();
    const states = async () => (await store.knex('deliveries').select('state').orderBy('id')).map((r) => r.state as string);

    // A local check takes no slot: both deliveries' checks are out at once. A provider check holds
    // the only slot, so the second waits.
    await vi.waitFor(() => expect(held).toHaveLength(localCheck ? 2 : 1), { timeout: 5000 });
    await new Promise((r) => setTimeout(r, 50));
    expect(held).toHaveLength(localCheck ? 2 : 1);
    for (let answered = 0; answered < 2; await new Promise((r) => setTimeout(r, 5))) {
      for (const answer of held.splice(0)) { answer(); answered++; }
    }
    await drained;
    expect(await states()).toEqual(['accepted', 'accepted']);
    const logged = (await store.knex('delivery_attempts').select('kind').orderBy('id')).map((r) => r.kind as string).sort();
    expect(logged).toEqual(localCheck ? ['send', 'send'] : ['check', 'check', 'send', 'send']);
  });
});
