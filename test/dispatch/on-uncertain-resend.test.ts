// `onUncertain: resend` is at least once: a send whose fate is unknown goes out again, so a durable
// `sending` before the request buys nothing and is not written (one store round trip less per
// message), except when the claim has aged past half its lease: there the `sending` write is what
// tells a process it lost the claim to another. `hold`, the default, always writes it.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { testStore, type TestStore } from '../helpers/store.js';
import { seedDeliveries } from '../../bench/seed-deliveries.js';
import { Dispatcher } from '../../src/dispatch/dispatcher.js';
import { dispatcherSchema, type OnUncertain } from '../../src/config/schema.js';
import { ChannelError } from '../../src/channels/channel.js';
import { stubChannel } from '../helpers/channel.js';
import { SimulatedCrash } from '../../src/util/crash-point.js';
import { operatorAction } from '../../src/store/operator.js';

describe('onUncertain: resend', () => {
  let store: TestStore;
  beforeEach(async () => { store = await testStore('sqlite'); });
  afterEach(async () => { await store.close(); });

  const stateOf = async (id: number) => ((await store.knex('deliveries').where({ id }).first('state')) as { state: string }).state;
  const rows = () => store.knex('deliveries').orderBy('id').select('state', 'attempts', 'provider_id', 'lease_token');

  /** Drains 3 deliveries and returns each one's state in the store while its request was made. */
  async function statesSeenBySend(onUncertain: OnUncertain, clock?: { now: number; atReserve?: number }): Promise<string[]> {
    await seedDeliveries(store, 3);
    // The fake clock starts no earlier than the seeding: a clock read before it (a millisecond
    // earlier, under load) found nothing due yet, and the test saw no send at all.
    if (clock) clock.now = Math.max(clock.now, Date.now());
    const seen: string[] = [];
    let n = 0;
    const channel = stubChannel({
      ...(clock?.atReserve ? { reserveSend: async () => { clock.now += clock.atReserve!; return { release: () => undefined }; } } : {}),
      send: async (ctx) => { seen.push(await stateOf(ctx.deliveryId)); return { providerId: `m${++n}` }; },
    });
    const cfg = dispatcherSchema.parse({ concurrency: 1, batchSize: 10, quickRetries: 0, onUncertain, leaseSeconds: 120 });
    await new Dispatcher({ store, channels: new Map([['appio', channel]]), cfg, log: pino({ level: 'silent' }), ...(clock ? { clock: () => clock.now } : {}) }).drain();
    return seen;
  }

  it('sends without a durable `sending` and records the outcome with the attempt counted', async () => {
    expect(await statesSeenBySend('resend')).toEqual(['pending', 'pending', 'pending']);
    expect(await rows()).toEqual([1, 2, 3].map((i) => ({ state: 'accepted', attempts: 1, provider_id: `m${i}`, lease_token: null })));
  });

  it('hold (the default) writes `sending` before every request', async () => {
    expect(await statesSeenBySend('hold')).toEqual(['sending', 'sending', 'sending']);
    expect((await rows()).map((r) => [r.state, r.attempts])).toEqual([['accepted', 1], ['accepted', 1], ['accepted', 1]]);
  });

  it('writes `sending` when the claim is past half its lease (the write checks the claim is still ours)', async () => {
    // Each rate slot takes 61 s of the 120 s lease.
    const clock = { now: Date.now(), atReserve: 61_000 };
    expect(await statesSeenBySend('resend', clock)).toEqual(['sending', 'sending', 'sending']);
  });

  it('an unanswered request goes back to pending for a retry, not uncertain', async () => {
    await seedDeliveries(store, 1);
    const channel = stubChannel({ send: async () => { throw new ChannelError('timeout after 10000 ms', 'uncertain'); } });
    const cfg = dispatcherSchema.parse({ concurrency: 1, batchSize: 10, quickRetries: 0, onUncertain: 'resend' });
    const stats = await new Dispatcher({ store, channels: new Map([['appio', channel]]), cfg, log: pino({ level: 'silent' }) }).drain();
    expect(stats.outcomes).toEqual({ pending: 1 });
    expect(await store.knex('deliveries').first('state', 'attempts', 'last_error')).toEqual({ state: 'pending', attempts: 1, last_error: 'timeout after 10000 ms' });
  });

  it('a delivery whose process dies while sending it, every time, ends dead after maxAttempts sends', async () => {
    // No `sending` is written in this mode, so only the expired lease tells the next claim that a
    // process stopped while working it. Counting those takeovers bounds the copies a crash loop sends.
    await seedDeliveries(store, 1);
    const { id } = (await store.knex('deliveries').first('id')) as { id: number };
    let sends = 0;
    const crashing = stubChannel({ send: async () => { sends++; throw new SimulatedCrash('before-post'); } });
    const cfg = dispatcherSchema.parse({ concurrency: 1, batchSize: 10, quickRetries: 0, onUncertain: 'resend', maxAttempts: 3, leaseSeconds: 60 });
    const clock = { now: Date.now() };
    const run = (channel: typeof crashing) => new Dispatcher({ store, channels: new Map([['appio', channel]]), cfg, log: pino({ level: 'silent' }), clock: () => clock.now }).drain();
    for (let i = 0; i < 3; i++) {
      await expect(run(crashing)).rejects.toBeInstanceOf(SimulatedCrash);
      clock.now += 61_000; // the dead process's lease runs out
    }
    expect(sends).toBe(3);
    const stats = await run(crashing);
    expect(stats.outcomes).toEqual({ dead: 1 });
    expect(sends).toBe(3);
    const row = await store.knex('deliveries').where({ id }).first('state', 'attempts', 'reason', 'lease_token');
    expect(row).toEqual({ state: 'dead', attempts: 3, lease_token: null, reason: 'gave up: the process stopped 3 times while working it (onUncertain: resend; it may have gone out up to 3 times)' });

    // An operator's resend starts a fresh budget: it is sent, not dead-lettered at once.
    await operatorAction(store.knex, id, 'resend', { now: clock.now });
    const ok = stubChannel({ send: async () => ({ providerId: 'm1' }) });
    expect((await run(ok)).outcomes).toEqual({ accepted: 1 });
    expect(await store.knex('deliveries').where({ id }).first('state', 'attempts')).toEqual({ state: 'accepted', attempts: 1 });
  });

  it('a delivery whose outcome was recorded is not taken over: its retries count once each', async () => {
    // (Released and expired claims at the store level: the store suite, on every dialect.)
    await seedDeliveries(store, 2);
    const cfg = dispatcherSchema.parse({ concurrency: 1, batchSize: 10, quickRetries: 0, onUncertain: 'resend' });
    const failing = stubChannel({ send: async () => { throw new ChannelError('503', 'transient'); } });
    const d = new Dispatcher({ store, channels: new Map([['appio', failing]]), cfg, log: pino({ level: 'silent' }) });
    await d.drain();
    await store.knex('deliveries').update({ next_attempt_at: 0 });
    await d.drain();
    // Two transient failures each: 2 attempts, not 3 (the outcome cleared the lease).
    expect((await rows()).map((r) => [r.state, r.attempts])).toEqual([['pending', 2], ['pending', 2]]);
  });
});
