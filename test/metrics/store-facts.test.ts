// What /metrics reads from the store at each scrape must cost what the live work costs, not what
// the permanent ledger weighs: the deliveries in play are counted every time, the finished ones
// (millions after years) at most every few minutes. On every store.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { availableDialects } from '../helpers/databases.js';
import { testStore, type TestStore } from '../helpers/store.js';
import { commitBatch, type NewEvent } from '../../src/store/commit-batch.js';
import { LIVE_STATES, StoreFactsReader } from '../../src/metrics/store-gauges.js';
import { PonteMetrics } from '../../src/metrics/index.js';
import { DELIVERY_STATES, TERMINAL_STATES } from '../../src/store/states.js';
import { deliveryCounts } from '../../src/store/delivery-counts.js';
import { parseSamples, value } from './prom-text.js';

const { run, skipped } = await availableDialects(['sqlite', 'postgres']);
if (skipped.length) console.warn(`[store-facts] skipped: ${skipped.join('; ')}`);

const T0 = Date.UTC(2026, 11, 3, 9, 0, 0);
const MAX_AGE = 5 * 60_000;

const ev = (key: string): NewEvent => ({
  key, type: 't', fiscalCode: 'RSSMRA80A01H501U', data: {},
  route: { mode: 'first', steps: [{ channel: 'appio', options: {} }] },
  deliveries: [{ channel: 'appio', options: {}, routeIndex: 0, address: null }],
});

describe.each(run)('store facts for /metrics on %s', (dialect) => {
  let store: TestStore;
  /** The SQL of every statement the store runs. */
  let statements: string[];
  beforeEach(async () => {
    store = await testStore(dialect);
    await commitBatch(store.knex, { instanceId: 'i', events: ['a', 'b', 'c', 'd'].map(ev), cancellations: [], rowErrors: [], now: T0 });
    const ids = (await store.knex('deliveries').orderBy('id').pluck('id')) as number[];
    await store.knex('deliveries').whereIn('id', ids.slice(0, 2)).update({ state: 'processed', finished_at: T0 });
    await store.knex('deliveries').where('id', ids[2]).update({ state: 'uncertain' });
    statements = [];
    store.knex.on('query', (q: { sql: string }) => statements.push(q.sql));
  });
  afterEach(async () => { await store.close(); });
  /** The statements that counted deliveries by state. */
  const counts = () => statements.filter((s) => /from [`"]?deliveries[`"]? .*group by/i.test(s));

  it('counts the live states at every read and the finished ones once per interval', async () => {
    const reader = new StoreFactsReader(store.knex, { finishedMaxAgeMs: MAX_AGE });
    const first = await reader.read(T0);
    expect(first.states).toEqual(DELIVERY_STATES);
    expect(Object.fromEntries(first.deliveries.get('appio')!)).toEqual({ processed: 2, uncertain: 1, pending: 1 });
    expect(counts()).toHaveLength(2); // the live states, and the finished ones

    // One more finished, one more pending: a read within the interval sees the pending one at once
    // and does not count the finished ones again.
    const ids = (await store.knex('deliveries').orderBy('id').pluck('id')) as number[];
    await store.knex('deliveries').where('id', ids[3]).update({ state: 'processed', finished_at: T0 + 1 });
    await commitBatch(store.knex, { instanceId: 'i', events: [ev('e')], cancellations: [], rowErrors: [], now: T0 + 1 });
    statements = [];
    const second = await reader.read(T0 + MAX_AGE - 1);
    expect(reader.counting).toBeNull();
    expect(counts()).toHaveLength(1);
    expect(Object.fromEntries(second.deliveries.get('appio')!)).toEqual({ processed: 2, uncertain: 1, pending: 1 });

    // Once the interval has passed, a read starts a new count of the finished ones; the next read has it.
    statements = [];
    await reader.read(T0 + MAX_AGE);
    await reader.counting; // still running, or already done
    expect(counts()).toHaveLength(2);
    const third = await reader.read(T0 + MAX_AGE + 1);
    expect(Object.fromEntries(third.deliveries.get('appio')!)).toEqual({ processed: 3, uncertain: 1, pending: 1 });
  });

  it('a slow live count (a million scheduled reminders) is reused for a while and redone in the background', async () => {
    let calls = 0;
    let wall = 0;
    const reader = new StoreFactsReader(store.knex, {
      wallClock: () => wall,
      // Each count takes 80 ms: reused for 19 × 80 ms by default.
      countLive: async (k) => { calls++; wall += 80; return deliveryCounts(k, LIVE_STATES); },
    });
    const pendingOf = async () => (await reader.read(T0)).deliveries.get('appio')!.get('pending');
    expect(await pendingOf()).toBe(1);
    expect(calls).toBe(1);
    await commitBatch(store.knex, { instanceId: 'i', events: [ev('e')], cancellations: [], rowErrors: [], now: T0 + 1 });
    // Within the interval: the last count, no new one.
    wall += 19 * 80 - 1;
    expect(await pendingOf()).toBe(1);
    expect(calls).toBe(1);
    // After it: the last count still answers at once, while a new one runs; the next read has it.
    wall += 1;
    expect(await pendingOf()).toBe(1);
    expect(calls).toBe(2);
    await reader.liveCounting;
    expect(await pendingOf()).toBe(2);
    expect(calls).toBe(2);
  });

  it('a fast live count is redone at every read', async () => {
    let calls = 0;
    let wall = 0;
    const reader = new StoreFactsReader(store.knex, { wallClock: () => wall, countLive: async (k) => { calls++; wall += 49; return deliveryCounts(k, LIVE_STATES); } });
    await reader.read(T0);
    await commitBatch(store.knex, { instanceId: 'i', events: [ev('e')], cancellations: [], rowErrors: [], now: T0 + 1 });
    expect((await reader.read(T0)).deliveries.get('appio')!.get('pending')).toBe(2);
    expect(calls).toBe(2);
  });

  it('a big store: the first read waits firstWaitMs for the finished count, then goes without it; a later read has it', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let calls = 0;
    const reader = new StoreFactsReader(store.knex, {
      finishedMaxAgeMs: MAX_AGE, firstWaitMs: 300,
      // As slow as counting millions of finished rows: done only when the test says so.
      countFinished: async (k) => { calls++; await gate; return deliveryCounts(k, TERMINAL_STATES); },
    });
    const t0 = performance.now();
    const first = await reader.read(T0);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(290);
    expect(first.states).toEqual(LIVE_STATES);
    expect(Object.fromEntries(first.deliveries.get('appio')!)).toEqual({ uncertain: 1, pending: 1 });
    // A read while the count still runs does not start a second one, and does not wait again.
    const t1 = performance.now();
    expect((await reader.read(T0 + 1)).states).toEqual(LIVE_STATES);
    expect(performance.now() - t1).toBeLessThan(250);
    expect(calls).toBe(1);

    release();
    await reader.counting;
    const later = await reader.read(T0 + 2);
    expect(later.states).toEqual(DELIVERY_STATES);
    expect(Object.fromEntries(later.deliveries.get('appio')!)).toEqual({ processed: 2, uncertain: 1, pending: 1 });
    expect(calls).toBe(1);
  });

  it('a failed count of the finished deliveries keeps the previous one, and the next read tries again', async () => {
    let fail = false;
    let calls = 0;
    const reader = new StoreFactsReader(store.knex, {
      finishedMaxAgeMs: MAX_AGE,
      countFinished: async (k) => { calls++; if (fail) throw new Error('statement timeout'); return deliveryCounts(k, TERMINAL_STATES); },
    });
    await reader.read(T0);
    fail = true;
    await reader.read(T0 + MAX_AGE); // starts a count that fails
    await reader.counting;
    const kept = await reader.read(T0 + MAX_AGE + 1); // the failure left no fresh count: tries again
    await reader.counting;
    expect(calls).toBe(3);
    expect(kept.states).toEqual(DELIVERY_STATES);
    expect(Object.fromEntries(kept.deliveries.get('appio')!)).toEqual({ processed: 2, uncertain: 1, pending: 1 });

    // Never counted at all (it fails from the first read): the live states alone, no error.
    const never = new StoreFactsReader(store.knex, { countFinished: async () => { throw new Error('statement timeout'); } });
    const facts = await never.read(T0);
    expect(facts.states).toEqual(LIVE_STATES);
    expect(Object.fromEntries(facts.deliveries.get('appio')!)).toEqual({ uncertain: 1, pending: 1 });
  });

  it('/metrics shows every state of the channel, 0 included, from both counts', async () => {
    expect(LIVE_STATES).toEqual(['pending', 'sending', 'accepted', 'uncertain']);
    expect([...LIVE_STATES, ...TERMINAL_STATES].sort()).toEqual([...DELIVERY_STATES].sort());
    const m = new PonteMetrics({ store, processMetrics: false, clock: () => T0 });
    const s = parseSamples(await m.metrics());
    for (const state of DELIVERY_STATES) expect(value(s, 'ponte_deliveries', { channel: 'appio', state })).toBe({ processed: 2, uncertain: 1, pending: 1 }[state as string] ?? 0);
  });
});
