import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RateWindow } from '../../src/util/rate-window.js';

/** The most starts found in any window [t, t + span) of the recorded start times. */
function maxInWindow(starts: number[], spanMs: number): number {
  let max = 0;
  for (let i = 0; i < starts.length; i++) {
    let n = 0;
    for (let j = i; j < starts.length && starts[j]! - starts[i]! < spanMs; j++) n++;
    max = Math.max(max, n);
  }
  return max;
}

/** Acquire `n` times at once; resolve to the start time of each, in call order. */
function burst(limiter: RateWindow, n: number, order?: number[]): Promise<number[]> {
  return Promise.all(
    Array.from({ length: n }, (_, i) =>
      limiter.acquire().then((answered) => {
        answered(); // answered at once: the slot ages from its start
        order?.push(i);
        return Date.now();
      }),
    ),
  );
}

describe('RateWindow (fake timers)', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('lets at most `requests` start in any window, and starts the rest as slots free', async () => {
    const limiter = new RateWindow({ requests: 3, windowMs: 1000 });
    const done = burst(limiter, 10);
    await vi.advanceTimersByTimeAsync(5000);
    const starts = await done;
    expect(maxInWindow(starts, 1000)).toBe(3);
    // Three at once, then three more each time the window slides past the first of them.
    expect(starts.map((t) => t - 1_000_000)).toEqual([0, 0, 0, 1000, 1000, 1000, 2000, 2000, 2000, 3000]);
  });

  it('counts the margin as part of the window', async () => {
    const limiter = new RateWindow({ requests: 2, windowMs: 1000, marginMs: 250 });
    const done = burst(limiter, 5);
    await vi.advanceTimersByTimeAsync(5000);
    const starts = await done;
    expect(maxInWindow(starts, 1250)).toBe(2);
    expect(starts[2]! - starts[0]!).toBe(1250);
  });

  it('serves waiters in the order they came (FIFO)', async () => {
    const limiter = new RateWindow({ requests: 2, windowMs: 100 });
    const order: number[] = [];
    const done = burst(limiter, 9, order);
    await vi.advanceTimersByTimeAsync(1000);
    await done;
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('starts nobody before a pause ends, and never shortens a pause', async () => {
    const limiter = new RateWindow({ requests: 100, windowMs: 1000 });
    limiter.pauseUntil(Date.now() + 3000);
    limiter.pauseUntil(Date.now() + 1000);
    const done = burst(limiter, 3);
    await vi.advanceTimersByTimeAsync(2999);
    expect(limiter.pending).toBe(3);
    await vi.advanceTimersByTimeAsync(1);
    expect((await done).map((t) => t - 1_000_000)).toEqual([3000, 3000, 3000]);
  });

  it('an aborted waiter rejects with the reason and frees its place for the next', async () => {
    const limiter = new RateWindow({ requests: 1, windowMs: 1000 });
    (await limiter.acquire())();
    const controller = new AbortController();
    const aborted = limiter.acquire(controller.signal);
    const next = limiter.acquire().then((answered) => { answered(); return Date.now(); });
    controller.abort(new Error('delivery cancelled'));
    await expect(aborted).rejects.toThrow('delivery cancelled');
    await vi.advanceTimersByTimeAsync(1000);
    expect((await next) - 1_000_000).toBe(1000);
    await expect(limiter.acquire(controller.signal)).rejects.toThrow('delivery cancelled');
  });

  it('holds a slot until the answer: the window ages from it, and a full house waits for a release', async () => {
    const limiter = new RateWindow({ requests: 2, windowMs: 1000 });
    const a = await limiter.acquire();
    const b = await limiter.acquire();
    const third = limiter.acquire().then((answered) => { answered(); return Date.now() - 1_000_000; });
    await vi.advanceTimersByTimeAsync(5000); // both still in flight: nobody else starts, however long
    expect(limiter.pending).toBe(1);
    a(); // answered at 5000: its slot frees at 6000
    b();
    await vi.advanceTimersByTimeAsync(999);
    expect(limiter.pending).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(await third).toBe(6000);
  });

  it('whatever each request\'s delay, at most `requests` arrive in any window (arrival between start and answer)', async () => {
    const limiter = new RateWindow({ requests: 5, windowMs: 1000 });
    let seed = 7;
    const rnd = () => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed / 2 ** 31; };
    const arrivals: number[] = [];
    const all = Array.from({ length: 60 }, () => limiter.acquire().then(async (answered) => {
      const start = Date.now();
      const rtt = Math.floor(rnd() * 400); // network and event-loop delays, up to 400 ms
      arrivals.push(start + Math.floor(rnd() * rtt));
      await new Promise((r) => setTimeout(r, rtt));
      answered();
    }));
    await vi.advanceTimersByTimeAsync(60_000);
    await Promise.all(all);
    arrivals.sort((x, y) => x - y);
    expect(arrivals).toHaveLength(60);
    expect(maxInWindow(arrivals, 1000)).toBeLessThanOrEqual(5);
  });

  it('adds up the time callers waited', async () => {
    const limiter = new RateWindow({ requests: 1, windowMs: 500 });
    const done = burst(limiter, 3); // waits: 0, 500, 1000
    await vi.advanceTimersByTimeAsync(2000);
    await done;
    expect(limiter.waitedMs).toBe(1500);
  });

  it('rejects nonsense settings, naming them', () => {
    expect(() => new RateWindow({ requests: 0, windowMs: 1000 })).toThrow(/requests/);
    expect(() => new RateWindow({ requests: 1.5, windowMs: 1000 })).toThrow(/requests/);
    expect(() => new RateWindow({ requests: 1, windowMs: 0 })).toThrow(/windowMs/);
    expect(() => new RateWindow({ requests: 1, windowMs: 10, marginMs: -1 })).toThrow(/marginMs/);
  });
});
