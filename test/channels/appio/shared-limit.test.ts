// Several Ponte processes share one IO owner account: each takes its share of the limit, so
// together they stay under it. Without the split the same burst breaches it (the control).
import { afterEach, describe, expect, it } from 'vitest';
import type { AppioChannel } from '../../../src/channels/appio/index.js';
import { startIoSandbox, type IoSandbox } from '../../../src/sandbox/io/index.js';
import { fiscalCode } from '../../sandbox/fixtures.js';
import { SANDBOX_KEYS, delivery, makeChannel } from './helpers.js';
import { availableDialects } from '../../helpers/databases.js';
import { testStore } from '../../helpers/store.js';
import { heartbeat, liveProcesses, leave } from '../../../src/store/processes.js';
import { RateWindow } from '../../../src/util/rate-window.js';

const LIMIT = { requests: 20, windowMs: 500 };

async function burst(sandbox: IoSandbox, share: number | null) {
  const processes = [0, 1, 2].map(() => makeChannel(sandbox.url, { owners: { comune: { ...LIMIT, marginMs: 100 } } }));
  try {
    if (share !== null) for (const p of processes) p.setShare(share);
    // Each "process" checks 40 profiles at once.
    await Promise.all(processes.flatMap((ch: AppioChannel, k) => Array.from({ length: 40 }, (_, i) => ch.checkRecipient(delivery(fiscalCode(k * 100 + i), { service: 'anagrafe' })).catch(() => null))));
    return sandbox.stats().comune!;
  } finally {
    for (const p of processes) p.close();
  }
}

let sandbox: IoSandbox | undefined;
afterEach(async () => { await sandbox?.close(); sandbox = undefined; });

describe('one IO owner, three processes', () => {
  it('each with a third of the limit: never above it together', async () => {
    sandbox = await startIoSandbox({ keys: SANDBOX_KEYS, limit: LIMIT, processingDelayMs: 0 });
    const stats = await burst(sandbox, 1 / 3);
    expect(stats.real429).toBe(0);
    expect(stats.maxInAnyWindow).toBeLessThanOrEqual(LIMIT.requests);
  });

  it('control: each with the whole limit, the account limit is breached', async () => {
    sandbox = await startIoSandbox({ keys: SANDBOX_KEYS, limit: LIMIT, processingDelayMs: 0 });
    const stats = await burst(sandbox, null);
    expect(stats.real429).toBeGreaterThan(0);
  });
});

describe('RateWindow.setLimit', () => {
  it('lowers and restores the limit in force, keeping the history needed to be exact', () => {
    const w = new RateWindow({ requests: 10, windowMs: 1000 });
    w.setLimit(10 / 3);
    expect(w.limit).toBe(3);
    w.setLimit(0.2);
    expect(w.limit).toBe(1);
    w.setLimit(50);
    expect(w.limit).toBe(10);
    expect(w.configuredLimit).toBe(10);
  });
});

const { run } = await availableDialects(['sqlite', 'postgres']);
describe.each(run)('live processes on %s', (dialect) => {
  it('counts the processes that heartbeat within the ttl', async () => {
    const store = await testStore(dialect);
    try {
      await heartbeat(store.knex, 'a', 1000);
      await heartbeat(store.knex, 'b', 4000);
      await heartbeat(store.knex, 'c', 9000);
      expect(await liveProcesses(store.knex, 9000, 6000)).toBe(2); // a is stale
      await heartbeat(store.knex, 'a', 9100);
      expect(await liveProcesses(store.knex, 9100, 6000)).toBe(3);
      await leave(store.knex, 'b');
      expect(await liveProcesses(store.knex, 9100, 6000)).toBe(2);
    } finally {
      await store.close();
    }
  });
});
