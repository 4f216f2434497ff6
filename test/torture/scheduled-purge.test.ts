// The daemon's daily retention purge with several `ponte run` processes on one PostgreSQL store:
// every process fires it on the same schedule, one purges and the others log which one does,
// instead of three scans of the ledger whose counts no single log line added up.
import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { availableDialects } from '../helpers/databases.js';
import { sleep, type PonteProcess } from './ponte-process.js';
import { stopWorld, type StopWorld } from './stop-world.js';

const { run, skipped } = await availableDialects(['postgres']);
if (skipped.length) console.warn(`[scheduled-purge] skipped: ${skipped.join('; ')} (several instances need a shared PostgreSQL store)`);

const DONE = /^retention purge done$/;
const OTHER = /^retention purge: another process on this store is doing it$/;

let world: StopWorld | undefined;
afterEach(async () => { await world?.close(); world = undefined; });

describe.runIf(run.includes('postgres'))('scheduled retention purge with three processes', () => {
  it('runs once per scheduled time, not once per process', async () => {
    const w = (world = await stopWorld('postgres', { rows: 2, latencyMs: 0, concurrency: 2 }));
    // Every 3 s instead of daily, so that each process fires it a few times within the test.
    const cfg = parse(readFileSync(w.w.configFile, 'utf8')) as Record<string, unknown>;
    cfg.retention = { schedule: '*/3 * * * * *' };
    writeFileSync(w.w.configFile, stringify(cfg));
    const procs: PonteProcess[] = [w.start(), w.start(), w.start()];
    const fired = (p: PonteProcess) => p.messages.filter((m) => DONE.test(m) || OTHER.test(m)).length;
    const until = Date.now() + 45_000;
    while (Date.now() < until && procs.some((p) => p.alive() && fired(p) < 2)) await sleep(200);
    const tails = procs.map((p) => p.tail()).join('\n----\n');
    for (const p of procs) expect(fired(p), tails).toBeGreaterThanOrEqual(2);
    // Within the claim's minute: one purge in all, every other firing told another process has it.
    const done = procs.reduce((n, p) => n + p.messages.filter((m) => DONE.test(m)).length, 0);
    expect(done, tails).toBe(1);
  }, 60_000);
});
