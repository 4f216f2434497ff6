// The crash-torture driver: the real `ponte run` process, against the IO sandbox (in this
// process, so its record survives every kill) and a back-office that grows between lives, killed
// with SIGKILL over and over — at named points (PONTE_CRASH_AT), with a POST in flight, at random
// moments — then run to the end and judged from what the sandbox received.
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { startIoSandbox } from '../../src/sandbox/io/index.js';
import { scratchDb, type ScratchDb } from '../helpers/databases.js';
import { startIoFront } from './io-front.js';
import { between, killPlan, prng, type KillKind } from './kill-plan.js';
import { judge, type InFlightAtKill, type Verdict } from './judge.js';
import { Backoffice, IO_KEY_ENV, makeWorkdir, STORE_URL_ENV, tortureFiscalCode } from './setup.js';
import { StoreView } from './store-view.js';
import { ponteArgv } from '../helpers/ponte-command.js';

/** No new `ponte run` can boot and send within this long of its spawn (loading the compiled CLI alone takes ~0.8 s here). */
const BOOT_FLOOR_MS = 300;

export interface TortureOptions {
  dialect: 'sqlite' | 'postgres';
  /** Back-office rows, one citizen each: the messages IO must end up with. */
  events: number;
  kills: number;
  seed?: number;
  /** The connector's page (one committed batch). Default: about a third of a life's new rows. */
  pageSize?: number;
  /** The connector's schedule. Default 3 s; 30 s above 1,000 events (a window poll re-checks every row it reads). */
  pollEverySeconds?: number;
  concurrency?: number;
  /** dispatcher.sendAhead (default: the product's). */
  sendAhead?: number;
  batchSize?: number;
  /** Round trip added to every IO call, so that kills find requests in flight. */
  latencyMs?: number;
  /**
   * A named point not reached within this long of the process being ready (its "ponte running"
   * line; of its spawn while it boots): the driver kills instead. Boot is not counted: on a loaded
   * host (CI, other suites' processes) loading the sources alone can take seconds.
   */
  maxLifeMs?: number;
  /** How long the last, uninterrupted life may take to finish everything. */
  finalTimeoutMs?: number;
  /** Keep the scratch folder (config, store, back-office) for a post-mortem. */
  keep?: boolean;
  log?: (line: string) => void;
}

export interface Life {
  index: number;
  kind: KillKind | 'final';
  crashAfter?: number;
  /** The planned point (or the driver's kill) did end the process. */
  reached: boolean;
  ms: number;
  /** Deliveries found `sending` in the store after the kill. */
  inFlight: number;
  /** From spawn to "ponte running" (undefined: killed before). */
  bootMs?: number;
  /** How the process ended. */
  exit: string;
  /** For a planned point not reached: what the process was doing (store, sessions, its last log lines). */
  note?: string;
}

export interface TortureReport {
  dialect: string;
  seed: number;
  events: number;
  lives: Life[];
  verdict: Verdict;
  durationMs: number;
  workdir: string;
  /** Problems with the run itself (a life that ended on its own, no clean stop): failures too. */
  problems: string[];
}

interface Daemon {
  child: ChildProcess;
  spawnAt: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  tail: () => string;
  alive: () => boolean;
  /** Connector polls started, finished and skipped (another process held the connector), from the log (level info). */
  polls: { started: number; finished: number; skipped: number };
  /** When the process logged "ponte running" (epoch ms). */
  readyAt?: number;
}

function startDaemon(cwd: string, configFile: string, env: NodeJS.ProcessEnv): Daemon {
  const child = spawn(process.execPath, ponteArgv(['--config', configFile, 'run', '--grace-seconds', '20']), {
    cwd, env, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let partial = '';
  const polls = { started: 0, finished: 0, skipped: 0 };
  const keep = (d: Buffer) => { out = (out + d.toString()).slice(-40_000); };
  child.stdout!.on('data', (d: Buffer) => {
    keep(d);
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop()!;
    for (const l of lines) {
      if (l.includes('"msg":"poll started"')) polls.started++;
      else if (l.includes('"msg":"poll finished"')) polls.finished++;
      else if (l.includes('"msg":"poll skipped')) polls.skipped++;
      else if (l.includes('"msg":"ponte running"')) daemon.readyAt ??= Date.now();
    }
  });
  child.stderr!.on('data', keep);
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('exit', (code, signal) => { done = true; r({ code, signal }); }));
  const daemon: Daemon = { child, spawnAt: Date.now(), exited, tail: () => out.slice(-6000), alive: () => !done, polls };
  return daemon;
}

/** From spawn to "ponte running"; undefined while it boots (or if it was killed booting). */
const bootMs = (d: Daemon): number | undefined => (d.readyAt === undefined ? undefined : d.readyAt - d.spawnAt);

/** What a process that did not do what was planned is up to, for the report. */
async function diagnose(view: StoreView, pg: ScratchDb | undefined, d: Daemon): Promise<string> {
  const progress = await view.progress().catch((e: unknown) => String(e));
  const sessions = pg
    ? JSON.stringify((await pg.knex.raw("select state, wait_event_type, wait_event, now() - xact_start as in_xact, left(query, 160) as query from pg_stat_activity where pid <> pg_backend_pid() and datname = current_database() and state <> 'idle'")).rows)
    : '(SQLite)';
  // Who holds the connector, and how long each process has been silent: a dead holder is released
  // once silent for a few heartbeats (dead-processes.ts).
  const holders = await view.leases(Date.now()).catch((e: unknown) => String(e));
  const boot = bootMs(d);
  const ready = boot === undefined ? 'not ready' : `ready ${(boot / 1000).toFixed(1)} s after spawn`;
  return `store ${JSON.stringify(progress)}; connector leases and processes ${JSON.stringify(holders)}; busy PostgreSQL sessions ${sessions}; ${ready}; polls ${JSON.stringify(d.polls)}\n${d.tail()}`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runTorture(opts: TortureOptions): Promise<TortureReport> {
  const started = Date.now();
  const seed = opts.seed ?? 1;
  const random = prng(seed);
  const log = opts.log ?? (() => {});
  const plan = killPlan(opts.kills, random);
  const lives = plan.length + 1;
  // The back-office grows by one share per life: every life has fresh rows to read and send.
  const share = (i: number) => Math.floor((opts.events * (i + 1)) / lives) - Math.floor((opts.events * i) / lives);
  const pageSize = opts.pageSize ?? Math.min(500, Math.max(2, Math.ceil(share(0) / 3)));
  const maxLifeMs = opts.maxLifeMs ?? 20_000;

  const sandbox = await startIoSandbox({ processingDelayMs: 50, limit: { requests: 1_000_000, windowMs: 1000 } });
  const front = await startIoFront(sandbox.url, opts.latencyMs ?? 40);
  const w = makeWorkdir({ ioUrl: front.url, pageSize, pollEverySeconds: opts.pollEverySeconds ?? (opts.events > 1000 ? 30 : 3), concurrency: opts.concurrency ?? 4, batchSize: opts.batchSize ?? 20, ...(opts.sendAhead !== undefined ? { sendAhead: opts.sendAhead } : {}) });
  const backoffice = new Backoffice(w.backofficeFile);
  let pg: ScratchDb | undefined;
  let daemon: Daemon | undefined;
  let view: StoreView | undefined;
  const problems: string[] = [];
  const history: Life[] = [];
  const inFlight = new Map<number, InFlightAtKill>();
  try {
    await backoffice.create();
    if (opts.dialect === 'postgres') pg = await scratchDb('postgres');
    view = new StoreView(pg ? { knex: pg.knex } : { file: w.storeFile });
    // Level info: the log tells when connector polls run (see the last life) and explains a failure.
    const baseEnv: NodeJS.ProcessEnv = { ...process.env, PONTE_LOG_FORMAT: 'json', PONTE_LOG_LEVEL: 'info', [IO_KEY_ENV]: 'torture-key' };
    delete baseEnv.PONTE_CRASH_AT;
    delete baseEnv.PONTE_CRASH_AFTER;
    delete baseEnv.PONTE_CONFIG;
    if (pg) baseEnv[STORE_URL_ENV] = pg.url;
    else delete baseEnv[STORE_URL_ENV];

    let pendingFlight: number[] = [];
    const spawnLife = (env: NodeJS.ProcessEnv): Daemon => {
      const d = startDaemon(w.dir, w.configFile, env);
      for (const id of pendingFlight) inFlight.set(id, { kill: history.length, copiesBefore: d.spawnAt + BOOT_FLOOR_MS });
      pendingFlight = [];
      return d;
    };

    for (const [i, kind] of plan.entries()) {
      const before = backoffice.rows;
      await backoffice.add(share(i));
      const env: NodeJS.ProcessEnv = { ...baseEnv };
      let crashAfter: number | undefined;
      if (kind === 'poll-before-commit' || kind === 'poll-after-commit') {
        // Inside the reading of this life's new rows (the window re-reads the old ones first).
        const oldBatches = Math.floor(before / pageSize);
        const newBatches = Math.ceil(backoffice.rows / pageSize) - oldBatches;
        crashAfter = oldBatches + between(random, 0, Math.max(0, newBatches - (kind === 'poll-after-commit' ? 2 : 1)));
      } else if (kind === 'after-claim') crashAfter = between(random, 0, 2);
      else if (kind === 'before-post' || kind === 'after-post') crashAfter = between(random, 0, Math.min(8, Math.floor(share(i) / 2)));
      else if (kind === 'during-status') crashAfter = between(random, 0, 8);
      if (crashAfter !== undefined) Object.assign(env, { PONTE_CRASH_AT: kind, PONTE_CRASH_AFTER: String(crashAfter) });
      const withhold = kind === 'post-in-flight' ? between(random, 1, 2) : 0;
      const randomDelay = kind === 'random' ? 300 + Math.floor(random() * 7700) : 0; // from boot to well into dispatching
      if (withhold) front.withholdNext(withhold);

      daemon = spawnLife(env);
      const d = daemon;
      let byDriver = false;
      let planned = false; // the driver's own kill moment came (random, post-in-flight)
      // A random kill counts from the spawn (boot included); a planned one from readiness.
      const deadline = () => (kind === 'random' ? d.spawnAt + randomDelay : (d.readyAt ?? d.spawnAt) + maxLifeMs);
      while (d.alive() && Date.now() < deadline()) {
        if (withhold && front.records.filter((r) => r.withheld && r.at >= d.spawnAt).length >= withhold) {
          await sleep(Math.floor(random() * 150)); // the withheld POSTs wait; so do the others in flight
          planned = true;
          break;
        }
        await sleep(kind === 'random' ? Math.min(50, Math.max(1, deadline() - Date.now())) : 25);
      }
      if (kind === 'random') planned = true;
      let note: string | undefined;
      if (d.alive() && !planned) note = await diagnose(view, pg, d);
      if (d.alive()) { byDriver = true; d.child.kill('SIGKILL'); }
      const end = await d.exited;
      front.cancelWithhold();
      const ms = Date.now() - d.spawnAt;
      const bySignal = end.signal === 'SIGKILL';
      const ok = bySignal && (kind === 'random' || kind === 'post-in-flight' ? planned && byDriver : !byDriver);
      if (!bySignal) problems.push(`life ${i + 1} (${kind}): ponte run ended by itself (code ${end.code}) before the kill\n${d.tail()}`);
      pendingFlight = await view.sendingIds();
      const boot = bootMs(d);
      const life: Life = {
        index: i + 1, kind, ...(crashAfter !== undefined ? { crashAfter } : {}), reached: ok, ms, inFlight: pendingFlight.length,
        ...(boot !== undefined ? { bootMs: boot } : {}),
        ...(note ? { note } : {}),
        exit: !bySignal ? `exited ${end.code}` : byDriver ? (ok ? 'killed by the driver' : 'not reached: killed by the driver') : `SIGKILL at ${kind}`,
      };
      history.push(life);
      log(`  kill ${String(i + 1).padStart(2)}/${plan.length} ${kind.padEnd(18)} ${crashAfter !== undefined ? `n=${String(crashAfter).padEnd(3)}` : '     '} ${(ms / 1000).toFixed(1).padStart(5)} s (boot ${life.bootMs === undefined ? '  -  ' : `${(life.bootMs / 1000).toFixed(1).padStart(3)} s`})  ${life.exit}; ${life.inFlight} in flight`);
    }

    // The last life: the remaining rows, no crash switch, until every delivery is final or held.
    await backoffice.add(share(plan.length));
    daemon = spawnLife({ ...baseEnv });
    const d = daemon;
    const until = d.spawnAt + (opts.finalTimeoutMs ?? 120_000);
    let progress = await view.progress();
    // SIGTERM only once no connector poll is running: `ponte run` installs its SIGTERM handler after
    // the poll at start, so a signal during that poll ends the process at once (reported upstream).
    const pollsIdle = () => d.polls.started > 0 && d.polls.finished === d.polls.started;
    while (d.alive() && Date.now() < until && !(progress.events >= opts.events && progress.open === 0 && pollsIdle())) {
      await sleep(250);
      progress = await view.progress();
    }
    const settled = progress.events >= opts.events && progress.open === 0;
    if (!settled) problems.push(`the last life did not finish in ${(opts.finalTimeoutMs ?? 120_000) / 1000} s: ${progress.events} events, states ${JSON.stringify(progress.states)}\n${d.tail()}`);
    if (d.alive()) d.child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const stop = await Promise.race([d.exited, new Promise<null>((r) => { timer = setTimeout(() => r(null), 30_000); })]);
    clearTimeout(timer);
    if (stop === null) {
      problems.push(`the last life hung after SIGTERM: ${await diagnose(view, pg, d)}`);
      d.child.kill('SIGKILL');
      await d.exited;
    }
    if (!stop || stop.code !== 0) problems.push(`the last life did not stop cleanly on SIGTERM (${stop ? `code ${stop.code}, signal ${stop.signal}` : 'still running after 30 s'})\n${d.tail()}`);
    history.push({ index: history.length + 1, kind: 'final', reached: settled, ms: Date.now() - d.spawnAt, inFlight: 0, exit: stop ? `exited ${stop.code}` : 'hung' });
    log(`  final life: ${((Date.now() - d.spawnAt) / 1000).toFixed(1)} s, ${JSON.stringify(progress.states)}`);

    if (front.upstreamErrors.length) problems.push(`${front.upstreamErrors.length} call(s) failed between the IO front and the sandbox (a harness fault): ${front.upstreamErrors.slice(0, 5).join('; ')}`);
    const expected = Array.from({ length: backoffice.rows }, (_, n) => tortureFiscalCode(n + 1));
    const verdict = judge({
      expected,
      messages: sandbox.messages.map((m) => ({ id: m.id, fiscalCode: m.fiscalCode, createdAt: m.createdAt })),
      deliveries: await view.deliveries(),
      events: progress.events,
      inFlight,
    });
    return { dialect: opts.dialect, seed, events: backoffice.rows, lives: history, verdict, durationMs: Date.now() - started, workdir: w.dir, problems };
  } finally {
    if (daemon?.alive()) { daemon.child.kill('SIGKILL'); await daemon.exited; }
    await view?.close();
    await backoffice.close();
    await front.close();
    await sandbox.close();
    await pg?.destroy();
    if (!opts.keep) rmSync(w.dir, { recursive: true, force: true });
  }
}
