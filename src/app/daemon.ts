// `ponte run`: every connector on its cron schedule (Europe/Rome), the dispatcher on its own,
// and a graceful stop on SIGTERM/SIGINT (a second signal exits at once).
import cron, { type ScheduledTask } from 'node-cron';
import type { AppContext } from './context.js';
import { Dispatcher } from '../dispatch/dispatcher.js';
import { DispatchLoop } from '../dispatch/loop.js';
import { runConnector } from '../connectors/runner.js';
import { crashPointFromEnv } from '../util/crash-point.js';
import { startAppServer } from './server.js';
import { activeAlerts, clearAlert } from '../store/channel-alerts.js';
import { purge } from '../store/purge.js';
import { heartbeat, leave, liveProcesses, forgetDead } from '../store/processes.js';
import { PonteMetrics } from '../metrics/index.js';

export interface DaemonOptions {
  /** Poll every connector once at start instead of waiting for its first schedule. */
  pollAtStart?: boolean;
  graceMs?: number;
}

export async function runDaemon(app: AppContext, opts: DaemonOptions = {}): Promise<void> {
  const { config, log } = app;
  const crashPoint = crashPointFromEnv();
  const metrics = new PonteMetrics({ store: app.store, channels: app.channels });
  const dispatcher = new Dispatcher({ store: app.store, channels: app.channels, cfg: config.dispatcher, log, crashPoint, timeZone: config.timeZone, metrics });
  const loop = new DispatchLoop(dispatcher, log);
  // A restart is how new credentials are loaded: channel alerts of the previous run are lifted, loudly.
  for (const a of await activeAlerts(app.store.knex)) {
    if (!app.channels.has(a.channel)) continue;
    await clearAlert(app.store.knex, a.channel);
    log.warn({ channel: a.channel, reason: a.reason }, `channel ${a.channel} was halted by the previous run; resumed at start (it halts again if the cause persists)`);
  }
  const server = await startAppServer(app, { wake: () => void loop.trigger(), metrics });
  const stopSharing = await shareAccountLimits(app);
  const tasks: ScheduledTask[] = [];

  const poll = async (id: string) => {
    const inst = app.instances.find((i) => i.id === id)!;
    const report = await runConnector(inst, { store: app.store, channels: app.channels, log, owner: app.owner, crashPoint, metrics });
    if (report.eventsNew > 0 || report.cancelled > 0) void loop.trigger();
  };

  for (const inst of app.instances.filter((i) => i.settings.enabled)) {
    tasks.push(cron.schedule(inst.settings.schedule, () => poll(inst.id).catch((e) => log.error({ err: e, connector: inst.id }, 'connector run crashed')), {
      timezone: config.timeZone, noOverlap: true, name: `connector:${inst.id}`,
    }));
  }
  tasks.push(cron.schedule(config.dispatcher.schedule, () => loop.trigger(), { timezone: config.timeZone, noOverlap: true, name: 'dispatcher' }));
  const { days, schedule } = config.retention;
  tasks.push(cron.schedule(schedule, () => purge(app.store.knex, { now: Date.now(), days })
    .then(({ cutoff, ...counts }) => log.info({ ...counts, days, cutoff: new Date(cutoff).toISOString() }, 'retention purge done'))
    .catch((e) => log.error({ err: e }, 'retention purge failed; the next scheduled run retries')), { timezone: config.timeZone, noOverlap: true, name: 'purge' }));
  log.info({ connectors: app.instances.map((i) => `${i.id} (${i.settings.schedule})`), dispatcher: config.dispatcher.schedule, purge: schedule }, 'ponte running');

  // The signal handlers come first: a SIGTERM during the first (possibly long) poll must still
  // stop gracefully, not kill the process with sends in flight.
  let stopping = false;
  const stopped = new Promise<void>((resolve) => {
    const onSignal = (sig: NodeJS.Signals) => {
      if (stopping) {
        log.warn({ signal: sig }, 'second signal: exiting now; unfinished work is picked up safely by the next run');
        process.exit(130);
      }
      stopping = true;
      log.info({ signal: sig }, 'stopping: no new work is claimed; waiting for in-flight sends');
      for (const t of tasks) void t.stop();
      void loop.stop(opts.graceMs ?? 30_000).then(async (clean) => {
        if (!clean) log.warn('grace period over: exiting with sends still in flight (they will be recovered)');
        await server?.close();
        await stopSharing();
        resolve();
      });
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });

  if (opts.pollAtStart !== false) {
    for (const inst of app.instances.filter((i) => i.settings.enabled)) {
      if (stopping) break;
      await poll(inst.id).catch((e) => log.error({ err: e }, 'connector run crashed'));
    }
  }
  if (!stopping) void loop.trigger();
  await stopped;
}

const HEARTBEAT_MS = 2000;

/**
 * IO counts requests per owner account, whatever the number of Ponte processes: each live process
 * takes an equal share of every owner's limit, recomputed at every heartbeat. (A process that
 * joins or dies changes the others' share within one heartbeat; the client's margin and the 429
 * handling absorb that moment.)
 */
async function shareAccountLimits(app: AppContext): Promise<() => Promise<void>> {
  const io = app.channels.get('appio') as { setShare?: (f: number) => void } | undefined;
  const { knex } = app.store;
  let last = 0;
  const beat = async () => {
    const now = Date.now();
    await heartbeat(knex, app.owner, now);
    const live = await liveProcesses(knex, now, HEARTBEAT_MS * 3);
    if (live !== last) {
      io?.setShare?.(1 / live);
      if (last !== 0 || live > 1) app.log.info({ processes: live }, `IO limits shared between ${live} Ponte process(es)`);
      last = live;
    }
  };
  await forgetDead(knex, Date.now(), 3_600_000);
  await beat();
  const timer = setInterval(() => { beat().catch((e: unknown) => app.log.warn({ err: e }, 'heartbeat failed')); }, HEARTBEAT_MS);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await leave(knex, app.owner).catch(() => undefined);
  };
}
