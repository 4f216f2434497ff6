// `ponte status` with several `ponte run` processes on one store: which are alive, which connector
// each is polling and since when, and, for a process killed mid-poll, until when its lease keeps the
// connector from the others.
import { afterEach, describe, expect, it } from 'vitest';
import { availableDialects } from '../helpers/databases.js';
import { testStore, type TestStore } from '../helpers/store.js';
import { heartbeat } from '../../src/store/processes.js';
import { acquireLease } from '../../src/store/lease.js';
import { startRun } from '../../src/store/runs.js';
import { statusReport } from '../../src/store/status.js';
import { formatStatus } from '../../src/cli/status.js';
import { localStamp } from '../../src/util/local-stamp.js';

const { run, skipped } = await availableDialects(['sqlite', 'postgres']);
if (skipped.length) console.warn(`[status-processes] skipped: ${skipped.join('; ')}`);

let store: TestStore | undefined;
afterEach(async () => { await store?.close(); store = undefined; });

describe.each(run)('ponte status: processes and leases on %s', (dialect) => {
  it('lists live and gone processes, what each is polling since when, and when a dead one\'s lease runs out', async () => {
    store = await testStore(dialect);
    const { knex } = store;
    const now = Date.UTC(2026, 11, 5, 12, 0, 0);
    const [A, B, C] = ['vm:101:aaaaaa', 'vm:102:bbbbbb', 'vm:103:cccccc'];
    await heartbeat(knex, A, now - 600_000);
    await heartbeat(knex, A, now - 1000); // alive: started 10 min ago, beat a second ago
    await heartbeat(knex, B, now - 30_000); // killed 30 s ago
    await heartbeat(knex, C, now - 1500);
    // A polls tributi since 5 s ago; B took anagrafe 40 s ago (lease 60 s) and died during the poll.
    expect(await acquireLease(knex, 'tributi', A, 60_000, now - 5000)).not.toBeNull();
    await startRun(knex, 'tributi', A, now - 5000);
    expect(await acquireLease(knex, 'anagrafe', B, 60_000, now - 40_000)).not.toBeNull();
    await startRun(knex, 'anagrafe', B, now - 40_000);

    const r = await statusReport(knex, now);
    // Latest started first.
    expect(r.processes.map((p) => [p.owner, p.alive, p.polling])).toEqual([[C, true, []], [B, false, ['anagrafe']], [A, true, ['tributi']]]);
    const tributi = r.connectors.find((c) => c.id === 'tributi')!;
    expect(tributi).toMatchObject({ leaseHeldBy: A, leaseSince: new Date(now - 5000).toISOString(), leaseUntil: new Date(now + 55_000).toISOString() });

    const text = formatStatus(r);
    const at = (ms: number) => localStamp(ms);
    expect(text).toContain(`    polling now on ${A} since ${at(now - 5000)} (lease until ${at(now + 55_000)})`);
    expect(text).toContain(`    lease held by ${B}, which stopped heartbeating at ${at(now - 30_000)}: another process takes the connector over after ${at(now + 20_000)}`);
    expect(text).toContain(`  ${A}  alive, started ${at(now - 600_000)}, polling tributi`);
    expect(text).toContain(`  ${B}  gone (no heartbeat since ${at(now - 30_000)}: stopped or killed), started ${at(now - 30_000)}, polling anagrafe`);
  });

  it('shows every alive process and only the latest gone ones (each restart leaves one for an hour)', async () => {
    store = await testStore(dialect);
    const now = Date.UTC(2026, 11, 5, 12, 0, 0);
    for (let i = 0; i < 6; i++) await heartbeat(store.knex, `vm:${200 + i}:gone00`, now - 600_000 + i * 60_000);
    await heartbeat(store.knex, 'vm:300:alive0', now - 1000);
    await heartbeat(store.knex, 'vm:100:oldone', now - 2 * 3_600_000); // gone two hours ago: not shown at all
    const text = formatStatus(await statusReport(store.knex, now));
    const lines = text.split('\n').filter((l) => /^ {2}vm:/.test(l));
    expect(lines.map((l) => l.trim().split('  ')[0])).toEqual(['vm:300:alive0', 'vm:205:gone00', 'vm:204:gone00', 'vm:203:gone00']);
    expect(text).toContain('  … and 3 more gone in the last hour (ponte status --json lists them)');
  });
});
