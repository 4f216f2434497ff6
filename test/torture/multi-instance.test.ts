// Several instances (issue 6 §3): three real `ponte run` processes on one PostgreSQL store and the
// IO sandbox with a per-owner limit configured on both sides, one of them SIGKILLed every ~5 s and
// restarted while the back-office keeps growing. Judged from the sandbox's record:
//  - every expected message created exactly once (a second copy only for a send in flight at a
//    kill, and that delivery is `uncertain`), nothing lost;
//  - the sandbox never answered a real 429: the three processes share the owner's budget through
//    their heartbeats in the store (src/store/processes.ts, the daemon's shareAccountLimits);
//  - at most one process polled the connector at any moment (connector_runs of different owners
//    never overlap).
// Fencing itself — a process whose lease expired and was taken over cannot commit — is asserted in
// test/store/store.test.ts ("fencing: a process whose lease was taken over cannot commit").
// PONTE_MULTI_SECONDS=300 runs the churn for five minutes (default 40 s).
import { rmSync, readFileSync, writeFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { startIoSandbox } from '../../src/sandbox/io/index.js';
import { availableDialects, scratchDb } from '../helpers/databases.js';
import { startIoFront } from './io-front.js';
import { judge, type InFlightAtKill } from './judge.js';
import { exitWithin, ponteEnv, sleep, startPonte, type PonteProcess } from './ponte-process.js';
import { Backoffice, makeWorkdir, tortureFiscalCode } from './setup.js';
import { StoreView } from './store-view.js';

const { run, skipped } = await availableDialects(['postgres']);
if (skipped.length) console.warn(`[multi-instance] skipped: ${skipped.join('; ')} (several instances need a shared PostgreSQL store)`);

const SECONDS = Number(process.env.PONTE_MULTI_SECONDS ?? 40);
const INSTANCES = 3;
const KILL_EVERY_MS = 5000;
/** The IO owner's limit, lowered from IO's 150 / 5 s so that the budget is what paces the run. */
const LIMIT = { requests: 60, windowMs: 5000 };
const ROWS_EVERY_MS = 2000;
const ROWS_PER_TICK = 4;
/** A killed process's POSTs (20 ms each way at the front) reach IO within this long of the kill. */
const LANDING_MS = 500;
const LEASE_SECONDS = 15;

interface Run { id: number; owner: string; started_at: string | number; finished_at: string | number | null; status: string }

describe.runIf(run.includes('postgres'))('several `ponte run` processes on one PostgreSQL store', () => {
  it(`${INSTANCES} processes, one SIGKILLed every ${KILL_EVERY_MS / 1000} s for ${SECONDS} s: exactly once, no real 429, one poller at a time`, async () => {
    const sandbox = await startIoSandbox({ processingDelayMs: 50, limit: LIMIT });
    const front = await startIoFront(sandbox.url, 40);
    const w = makeWorkdir({ ioUrl: front.url, pageSize: 20, pollEverySeconds: 2, concurrency: 4, batchSize: 8 });
    // The same limit on Ponte's side (the torture config's is unlimited).
    const cfg = parse(readFileSync(w.configFile, 'utf8')) as { channels: { appio: { owners: Record<string, unknown> } }; dispatcher: { leaseSeconds: number } };
    cfg.channels.appio.owners.comune = { requests: LIMIT.requests, windowSeconds: LIMIT.windowMs / 1000 };
    // Longer than a send may wait for a slot of its process's share (the torture's 3 s is not):
    // a claim that runs out while its send waits is taken for a send in flight (reported upstream).
    cfg.dispatcher.leaseSeconds = LEASE_SECONDS;
    writeFileSync(w.configFile, stringify(cfg));
    const backoffice = new Backoffice(w.backofficeFile);
    const pg = await scratchDb('postgres');
    const view = new StoreView({ knex: pg.knex });
    const env = ponteEnv(pg.url);
    const procs: PonteProcess[] = [];
    const all: PonteProcess[] = [];
    const killedAt = new Map<number, number>(); // pid → when
    const inFlight = new Map<number, InFlightAtKill>();
    const spawnOne = () => { const p = startPonte(w.dir, w.configFile, env); all.push(p); return p; };
    try {
      await backoffice.create();
      await backoffice.knex.raw('PRAGMA journal_mode = WAL'); // the connectors read while rows are added
      await backoffice.add(10);
      // The first one alone creates the schema: three first starts on an empty PostgreSQL race in
      // knex's migration lock table (reported upstream).
      procs.push(spawnOne());
      expect(await procs[0]!.waitFor(/^ponte running$/, 30_000), procs[0]!.tail()).toBe(true);
      for (let i = 1; i < INSTANCES; i++) procs.push(spawnOne());

      const start = Date.now();
      let nextKill = start + KILL_EVERY_MS;
      let nextRows = start + ROWS_EVERY_MS;
      let kills = 0;
      while (Date.now() - start < SECONDS * 1000) {
        await sleep(50);
        const dead = procs.find((p) => !p.alive());
        if (dead) throw new Error(`a ponte run ended by itself\n${dead.tail()}`);
        if (Date.now() >= nextRows) { await backoffice.add(ROWS_PER_TICK); nextRows += ROWS_EVERY_MS; }
        if (Date.now() < nextKill) continue;
        nextKill += KILL_EVERY_MS;
        const slot = kills++ % INSTANCES;
        const victim = procs[slot]!;
        victim.child.kill('SIGKILL');
        await victim.exited;
        const at = Date.now();
        killedAt.set(victim.pid, at);
        // Sending now: the victim's in-flight sends among them (the others' finish normally).
        for (const id of await view.sendingIds()) inFlight.set(id, { kill: kills, copiesBefore: at + LANDING_MS });
        // Its connector lease and claims are released by the survivors' next heartbeat (the kernel
        // says its pid is gone: src/store/dead-processes.ts), not by this driver.
        procs[slot] = spawnOne();
      }

      // Settle: no more kills or rows; the three finish everything, then stop gracefully.
      const until = Date.now() + 60_000;
      let progress = await view.progress();
      while (Date.now() < until && !(progress.events >= backoffice.rows && progress.open === 0)) {
        await sleep(250);
        progress = await view.progress();
      }
      expect(progress, `not settled: ${JSON.stringify(progress)}\n${procs[0]!.tail()}`).toMatchObject({ events: backoffice.rows, open: 0 });
      // A process still booting (restarted just now) has no handler yet and dies of the signal: wait for it.
      for (const [i, p] of procs.entries()) {
        const up = await p.waitFor(/^ponte running$/, 20_000);
        expect(up, `process ${i} (pid ${p.pid}, ${p.alive() ? 'alive' : `exited ${JSON.stringify(await p.exited)}`}, up ${Date.now() - p.spawnAt} ms)\n${p.tail()}`).toBe(true);
      }
      for (const p of procs) p.child.kill('SIGTERM');
      for (const [i, p] of procs.entries()) expect(await exitWithin(p, 30_000), `process ${i} (pid ${p.pid}, up ${Date.now() - p.spawnAt} ms): ${p.messages.join(' | ')}\n${p.tail()}`).toEqual({ code: 0, signal: null });

      const expected = Array.from({ length: backoffice.rows }, (_, n) => tortureFiscalCode(n + 1));
      const v = judge({
        expected,
        messages: sandbox.messages.map((m) => ({ id: m.id, fiscalCode: m.fiscalCode, createdAt: m.createdAt })),
        deliveries: await view.deliveries(),
        events: progress.events,
        inFlight,
      });
      const summary = `${kills} kills, ${backoffice.rows} rows, verdict ${JSON.stringify({ ...v, violations: v.violations.length })}, IO ${JSON.stringify(sandbox.stats())}`;
      console.info(`[multi-instance] ${summary}`);
      expect(kills).toBeGreaterThanOrEqual(Math.floor(SECONDS * 1000 / KILL_EVERY_MS) - 1);
      expect(v.violations, summary).toEqual([]);
      expect(v.lost).toBe(0);
      expect(v.processed + v.uncertain).toBe(backoffice.rows);

      // The budget held across processes: IO never had to refuse a request for the limit.
      const stats = Object.values(sandbox.stats());
      expect(stats.length).toBeGreaterThan(0);
      for (const s of stats) {
        expect(s.real429, summary).toBe(0);
        expect(s.maxInAnyWindow).toBeLessThanOrEqual(LIMIT.requests);
      }

      // One poller at a time: runs of different owners never overlap. A killed process's run never
      // finishes; its lease (and so its run) ended at the kill.
      const runs = (await pg.knex('connector_runs').where({ instance_id: 'torture' }).select('id', 'owner', 'started_at', 'finished_at', 'status')) as Run[];
      const pidOf = (owner: string) => Number(owner.split(':').at(-2));
      const spans = runs.map((r) => {
        const end = r.finished_at != null ? Number(r.finished_at) : killedAt.get(pidOf(r.owner));
        return { ...r, from: Number(r.started_at), to: end };
      });
      expect(spans.filter((s) => s.to === undefined), 'runs neither finished nor killed').toEqual([]);
      expect(new Set(runs.map((r) => r.owner)).size, 'polls by several processes').toBeGreaterThan(1);
      const overlaps: string[] = [];
      const sorted = [...spans].sort((a, b) => a.from - b.from);
      for (let i = 0; i < sorted.length; i++) {
        for (let j = i + 1; j < sorted.length && sorted[j]!.from < sorted[i]!.to!; j++) {
          if (sorted[j]!.owner !== sorted[i]!.owner) overlaps.push(`run ${sorted[i]!.id} (${sorted[i]!.owner}, ${sorted[i]!.status}) and run ${sorted[j]!.id} (${sorted[j]!.owner}, ${sorted[j]!.status})`);
        }
      }
      expect(overlaps).toEqual([]);
      expect(runs.filter((r) => r.status === 'fenced')).toEqual([]);
    } finally {
      for (const p of all) if (p.alive()) { p.child.kill('SIGKILL'); await p.exited; }
      await view.close();
      await backoffice.close();
      await front.close();
      await sandbox.close();
      await pg.destroy();
      rmSync(w.dir, { recursive: true, force: true });
    }
  }, (SECONDS + 120) * 1000);
});
