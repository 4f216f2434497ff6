// withoutQueryTimeout's exemption: scoped to its flow, kept by a flow while another ends, gone
// everywhere once the last one ends (the storage is then disabled, so that Node 20 stops running
// async hooks on every promise of the process; see query-timeout.ts).
import { describe, expect, it } from 'vitest';
import { queryTimeoutExempt, withoutQueryTimeout } from '../../src/store/query-timeout.js';

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('withoutQueryTimeout', () => {
  it('exempts its own flow only, and keeps a flow exempt while an overlapping one ends', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const seenInA: boolean[] = [];
    const a = withoutQueryTimeout(async () => {
      seenInA.push(queryTimeoutExempt());
      await gate;
      seenInA.push(queryTimeoutExempt()); // B has ended meanwhile
    });
    await tick();
    expect(queryTimeoutExempt()).toBe(false); // beside A, not in it
    await withoutQueryTimeout(async () => { await tick(); expect(queryTimeoutExempt()).toBe(true); });
    expect(queryTimeoutExempt()).toBe(false);
    release();
    await a;
    expect(seenInA).toEqual([true, true]);
    expect(queryTimeoutExempt()).toBe(false);
  });

  it('ends with its flow, a failed one too: a timer the flow left behind is bounded once no exempt flow runs', async () => {
    let late: boolean | undefined;
    await expect(withoutQueryTimeout(async () => {
      setTimeout(() => { late = queryTimeoutExempt(); }, 20);
      throw new Error('migration failed');
    })).rejects.toThrow('migration failed');
    expect(queryTimeoutExempt()).toBe(false);
    while (late === undefined) await tick();
    expect(late).toBe(false);
    // And it works again afterwards.
    await withoutQueryTimeout(async () => { expect(queryTimeoutExempt()).toBe(true); });
  });
});
