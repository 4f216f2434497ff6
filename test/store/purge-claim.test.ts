// The daemon's scheduled purge runs once per store: every process fires it at the same minute,
// the first claim wins and the others learn who has it; the next day's run is claimed afresh.
import { afterEach, describe, expect, it } from 'vitest';
import { availableDialects } from '../helpers/databases.js';
import { testStore, type TestStore } from '../helpers/store.js';
import { claimScheduledPurge, PURGE_CLAIM_GAP_MS } from '../../src/store/purge-claim.js';

const { run, skipped } = await availableDialects(['sqlite', 'postgres']);
if (skipped.length) console.warn(`[purge-claim] skipped: ${skipped.join('; ')}`);

let store: TestStore | undefined;
afterEach(async () => { await store?.close(); store = undefined; });

describe.each(run)('scheduled purge claim on %s', (dialect) => {
  it('three processes firing together: exactly one purges, the others are told which one', async () => {
    store = await testStore(dialect);
    const now = Date.UTC(2026, 11, 5, 2, 30, 0);
    // Concurrent transactions (separate connections on PostgreSQL), a few ms apart as cron fires them.
    const owners = ['vm:1:a', 'vm:2:b', 'vm:3:c'];
    const claims = await Promise.all(owners.map((o, i) => claimScheduledPurge(store!.knex, o, now + i * 7)));
    const winners = owners.filter((_, i) => claims[i]!.claimed);
    expect(winners).toHaveLength(1);
    for (const c of claims) if (!c.claimed) expect(c).toEqual({ claimed: false, by: winners[0], at: expect.any(Number) as number });

    // The next scheduled run (a day later, or the next slot of a shorter schedule) is claimed again.
    expect(await claimScheduledPurge(store.knex, 'vm:2:b', now + PURGE_CLAIM_GAP_MS + 1000)).toEqual({ claimed: true });
    expect((await claimScheduledPurge(store.knex, 'vm:3:c', now + PURGE_CLAIM_GAP_MS + 1500)).claimed).toBe(false);
  });
});
