// With 30 % of IO's answers injected as 500 or 429, every valid message still ends PROCESSED
// exactly once, and IO's per-owner rate limit is never exceeded (the sandbox counts).
import { afterEach, describe, expect, it } from 'vitest';
import { availableDialects } from '../helpers/databases.js';
import { makePipeline, reminder, type Pipeline } from '../helpers/pipeline.js';

const { run } = await availableDialects(['sqlite', 'postgres']);
// A scaled-down IO limit keeps the run short; the mechanism is the one used at 150 per 5 s.
const LIMIT = { requests: 40, windowMs: 1000 };

describe.each(run)('faults on %s', (dialect) => {
  let p: Pipeline | undefined;
  afterEach(async () => { await p?.close(); });

  it('30 % injected 500/429: all processed exactly once, limit held', async () => {
    p = await makePipeline(dialect, {
      sandbox: { limit: LIMIT, faults: { rate500: 0.15, rate429: 0.15, seed: 42 } },
      owners: { comune: LIMIT },
      cfg: { concurrency: 8, maxAttempts: 20, quickRetries: 2 },
    });
    const N = 40;
    p.backoffice.events = Array.from({ length: N }, (_, i) => reminder(i + 1));
    await p.poll();
    await p.settle({ timeoutMs: 60_000 });

    const states = Object.values(await p.states());
    expect(states.filter((s) => s === 'processed')).toHaveLength(N);
    const byCitizen = new Map<string, number>();
    for (const m of p.sandbox.messages) byCitizen.set(m.fiscalCode, (byCitizen.get(m.fiscalCode) ?? 0) + 1);
    expect(byCitizen.size).toBe(N);
    expect([...byCitizen.values()].every((n) => n === 1)).toBe(true);

    const injected = p.sandbox.requests.filter((r) => r.injected).length;
    expect(injected).toBeGreaterThan(0.2 * p.sandbox.requests.length); // the faults really happened
    const stats = p.sandbox.stats()['comune'] ?? Object.values(p.sandbox.stats())[0]!;
    console.log(`[faults on ${dialect}] ${N} messages, ${p.sandbox.requests.length} IO requests, ${injected} injected faults, 0 duplicates, busiest ${LIMIT.windowMs} ms window ${stats.maxInAnyWindow}/${LIMIT.requests}, real 429s ${stats.real429}`);
    expect(stats.real429).toBe(0);
    expect(stats.maxInAnyWindow).toBeLessThanOrEqual(LIMIT.requests);
  });
});
