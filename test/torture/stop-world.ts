// A small torture world for the graceful-stop tests: the IO sandbox behind a slow front (sends stay
// in flight for seconds), a scratch config and back-office, the store (SQLite or PostgreSQL) and a
// direct look into it, and the judge's verdict at the end.
import { rmSync } from 'node:fs';
import { expect } from 'vitest';
import knexFactory, { type Knex } from 'knex';
import { startIoSandbox, type IoSandbox } from '../../src/sandbox/io/index.js';
import { scratchDb, type ScratchDb } from '../helpers/databases.js';
import { startIoFront, type IoFront } from './io-front.js';
import { judge, type InFlightAtKill, type Verdict } from './judge.js';
import { Backoffice, makeWorkdir, tortureFiscalCode, type Workdir } from './setup.js';
import { StoreView } from './store-view.js';
import { exitWithin, ponteEnv, sleep, startPonte, type PonteProcess } from './ponte-process.js';
import type { OnUncertain } from '../../src/config/schema.js';

export interface StopWorld {
  sandbox: IoSandbox;
  front: IoFront;
  w: Workdir;
  backoffice: Backoffice;
  view: StoreView;
  /** PostgreSQL: the scratch store's URL as `ponte run` gets it. */
  storeUrl: string | undefined;
  /** The store itself, for reads the view has no method for. */
  store: () => Knex;
  /** A `ponte run` on this world; `env` adds to (or overrides) the test environment. */
  start: (args?: string[], env?: NodeJS.ProcessEnv, wrap?: string[]) => PonteProcess;
  /** POST /messages that reached the front at or after `from` (epoch ms). */
  postsSince: (from: number) => string[];
  claimedIds: () => Promise<number[]>;
  /** Connector leases still held (owner set, not expired). */
  heldLeases: () => Promise<Array<{ instance_id: string; lease_owner: string }>>;
  verdict: (inFlight: Map<number, InFlightAtKill>) => Promise<Verdict>;
  close: () => Promise<void>;
}

export async function stopWorld(dialect: 'sqlite' | 'postgres', opts: { rows: number; latencyMs: number; concurrency: number; onUncertain?: OnUncertain; leaseSeconds?: number; connectorSchedule?: string }): Promise<StopWorld> {
  const sandbox = await startIoSandbox({ processingDelayMs: 50, limit: { requests: 1_000_000, windowMs: 1000 } });
  const front = await startIoFront(sandbox.url, opts.latencyMs);
  const w = makeWorkdir({ ioUrl: front.url, pageSize: 50, pollEverySeconds: 3, concurrency: opts.concurrency, batchSize: opts.concurrency, ...(opts.onUncertain ? { onUncertain: opts.onUncertain } : {}), ...(opts.leaseSeconds ? { leaseSeconds: opts.leaseSeconds } : {}), ...(opts.connectorSchedule ? { connectorSchedule: opts.connectorSchedule } : {}) });
  const backoffice = new Backoffice(w.backofficeFile);
  await backoffice.create();
  await backoffice.add(opts.rows);
  const pg: ScratchDb | undefined = dialect === 'postgres' ? await scratchDb('postgres') : undefined;
  const view = new StoreView(pg ? { knex: pg.knex } : { file: w.storeFile });
  let sqlite: Knex | undefined;
  const store = (): Knex => pg?.knex ?? (sqlite ??= knexFactory({
    client: 'better-sqlite3', connection: { filename: w.storeFile }, useNullAsDefault: true,
    pool: { min: 0, max: 1, afterCreate: (c: { pragma(s: string): unknown }, done: (e: Error | null, c: unknown) => void) => { c.pragma('busy_timeout = 5000'); done(null, c); } },
  }));
  const env = ponteEnv(pg?.url);
  const started: PonteProcess[] = [];
  return {
    sandbox, front, w, backoffice, view, store, storeUrl: pg?.url,
    start: (args = [], extra = {}, wrap = []) => { const p = startPonte(w.dir, w.configFile, { ...env, ...extra }, args, wrap); started.push(p); return p; },
    postsSince: (from) => front.records.filter((r) => r.method === 'POST' && /\/messages$/.test(r.path) && r.at >= from).map((r) => r.submitFor ?? '?'),
    claimedIds: async () => (await store()('deliveries').whereNotNull('lease_token').pluck('id')).map(Number),
    heldLeases: async () => store()('connector_state').whereNotNull('lease_owner').where('lease_expires_at', '>=', Date.now()).select('instance_id', 'lease_owner'),
    verdict: async (inFlight) => judge({
      expected: Array.from({ length: backoffice.rows }, (_, n) => tortureFiscalCode(n + 1)),
      messages: sandbox.messages.map((m) => ({ id: m.id, fiscalCode: m.fiscalCode, createdAt: m.createdAt })),
      deliveries: await view.deliveries(),
      events: (await view.progress()).events,
      inFlight,
    }),
    close: async () => {
      for (const p of started) if (p.alive()) { p.child.kill('SIGKILL'); await p.exited; }
      await view.close();
      await sqlite?.destroy();
      await backoffice.close();
      await front.close();
      await sandbox.close();
      await pg?.destroy();
      rmSync(w.dir, { recursive: true, force: true });
    },
  };
}

/** Waits until `count` POST /messages reached IO from p, then a little (so they are mid-flight). */
export async function untilPostsInFlight(w: StopWorld, p: PonteProcess, count: number): Promise<void> {
  const until = Date.now() + 30_000;
  while (p.alive() && Date.now() < until && w.postsSince(p.spawnAt).length < count) await sleep(20);
  if (w.postsSince(p.spawnAt).length < count) throw new Error(`no ${count} POST /messages within 30 s\n${p.tail()}`);
  await sleep(200);
}

/** Lets p run until all `rows` are final or held (by `until`, epoch ms), then stops it with SIGTERM: both asserted. */
export async function finishThenStop(w: StopWorld, p: PonteProcess, rows: number, until: number): Promise<void> {
  let progress = await w.view.progress();
  while (p.alive() && Date.now() < until && !(progress.events >= rows && progress.open === 0)) {
    await sleep(200);
    progress = await w.view.progress();
  }
  expect(progress, `not finished within ${((until - p.spawnAt) / 1000).toFixed(0)} s of its start\n${p.tail()}`).toMatchObject({ events: rows, open: 0 });
  p.child.kill('SIGTERM');
  expect(await exitWithin(p, 20_000), p.tail()).toEqual({ code: 0, signal: null });
}
