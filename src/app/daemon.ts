// `ponte run`: every connector on its cron schedule (Europe/Rome), the dispatcher on its own,
// and a graceful stop on SIGTERM/SIGINT: no new claims or polls, in-flight sends and the running
// poll (stopped after the batch it is committing) finish within the grace period, their outcomes
// and leases are recorded, exit 0. A send still in flight when the grace period ends stays
// `sending` and is recovered as `uncertain` by the next run (exit 1). A second signal exits at
// once with 130; the next run picks the work up the same way.
import { releaseDeadNeighbours, resendUnsentOfGone } from '../store/dead-processes.js';
import { localBootKey, pidGone } from '../util/process-identity.js';
import { defaultJournalDir, readSendJournal, removeSendJournal, SendJournal, sweepStaleJournals } from '../dispatch/send-journal.js';
import type { Journals, SocketGone } from '../store/dead-processes.js';
import { aliveSocketGone, listenAlive, removeAliveSocket } from '../util/alive-socket.js';
import cron, { type ScheduledTask } from 'node-cron';
import type { AppContext } from './context.js';
import { Dispatcher } from '../dispatch/dispatcher.js';
import { DispatchLoop } from '../dispatch/loop.js';
import { runConnector } from '../connectors/runner.js';
import { crashPointFromEnv } from '../util/crash-point.js';
import { startAppServer } from './server.js';
import { activeAlerts, OPERATOR_HALT, parseAlertKey, resumeChannel } from '../store/channel-alerts.js';
import { purge } from '../store/purge.js';
import { claimScheduledPurge } from '../store/purge-claim.js';
import { scheduleFeeds } from '../broadcast/feeds/schedule-feeds.js';
import { heartbeat, liveProcesses, forgetDead, FORGET_AFTER_MS, HEARTBEAT_MS } from '../store/processes.js';
import { PonteMetrics } from '../metrics/index.js';
import { durabilityWarnings } from '../store/durability.js';
import { newerStoreProblem } from '../store/db.js';
import { undeclaredTemplatesWarning } from '../config/whatsapp-templates.js';
import { settleWithin } from '../util/in-flight.js';

export interface DaemonOptions {
  /** Poll every connector once at start instead of waiting for its first schedule. */
  pollAtStart?: boolean;
  graceMs?: number;
}

/** How `runDaemon` ended: clean when everything in flight finished within the grace period. */
export interface DaemonStop {
  clean: boolean;
}

export async function runDaemon(app: AppContext, opts: DaemonOptions = {}): Promise<DaemonStop> {
  const { config, log } = app;
  const crashPoint = crashPointFromEnv();
  const metrics = new PonteMetrics({ store: app.store, channels: app.channels });
  const journal = openJournal(app);
  const bootKey = localBootKey();
  // Beside the journal, in the same folder: what tells a restart in another pid namespace that this process is gone.
  const alive = journal && bootKey ? await listenAlive(journalDir(app), app.identity.claimTag, bootKey) : null;
  const journals = journalsIn(app, bootKey);
  const dispatcher = new Dispatcher({ store: app.store, channels: app.channels, cfg: config.dispatcher, log, crashPoint, timeZone: config.timeZone, metrics, claimTag: app.identity.claimTag, ...(journal ? { journal } : {}),
    resendUnsent: (now) => resendUnsentOfGone(app.store.knex, app.identity, now, pidGone, journals) });
  const outage = app.store.outage;
  const loop = new DispatchLoop(dispatcher, log, undefined, outage);
  // A restart is how new credentials are loaded: channel alerts of the previous run are lifted,
  // loudly. Not an operator's `ponte channel halt`: that stands until `ponte channel resume`.
  const alerts = await activeAlerts(app.store.knex);
  const byOperator = new Set(alerts.filter((a) => a.code === OPERATOR_HALT).map((a) => parseAlertKey(a.channel).channel));
  for (const a of alerts) {
    const { channel, part } = parseAlertKey(a.channel);
    if (!app.channels.has(channel)) continue;
    if (byOperator.has(channel)) {
      if (a.code === OPERATOR_HALT) log.warn({ channel, reason: a.reason }, `channel ${channel} stays halted by an operator: \`ponte channel resume ${channel}\` to send again`);
      continue;
    }
    // Null when an earlier alert of the same channel (its other part) has lifted this one too.
    if (!(await resumeChannel(app.store.knex, channel, Date.now()))) continue;
    log.warn({ channel, ...(part ? { part } : {}), reason: a.reason }, `channel ${channel} was halted by the previous run; resumed at start (it halts again if the cause persists)`);
  }
  for (const w of await durabilityWarnings(app.store)) log.warn(w);
  // The HTTP server first: a port already taken must fail the start before this process joins
  // the IO budget sharing, where even a dead process's heartbeat halved the others' share.
  let wake: () => void = () => undefined;
  const server = await startAppServer(app, { wake: () => wake(), metrics, crashPoint });
  // A dead neighbour's claims released at a heartbeat: its connectors are polled and its
  // deliveries sent now, not at their next schedule (set once poll and trigger exist).
  let onReleased: (connectors: string[]) => void = () => undefined;
  const sharing = await shareAccountLimits(app, journals.socketGone, (connectors) => onReleased(connectors));
  const stopSharing = sharing.stop;
  // No IO request before the shared budget is safe to use (see shareAccountLimits): until then a
  // trigger is only remembered.
  let held: NodeJS.Timeout | undefined;
  const trigger = () => {
    const wait = sharing.holdUntil - Date.now();
    if (wait <= 0) return void loop.trigger();
    held ??= setTimeout(() => { held = undefined; void loop.trigger(); }, wait);
  };
  if (sharing.holdUntil > Date.now()) log.info({ seconds: Math.ceil((sharing.holdUntil - Date.now()) / 1000) }, 'IO requests held: other Ponte processes used the shared IO budget within its last window');
  wake = trigger;
  const tasks: ScheduledTask[] = [];
  // Running polls, so that a stop waits for them: closing the store under a poll would leave its
  // lease held (5 minutes) and its run unrecorded.
  // One poll per connector at a time in this process too: the cron task's noOverlap does not see
  // the poll at start, and a second acquireLease by the same owner would fence the first run.
  const polls = new Map<string, Promise<unknown>>();
  const stopPolls = new AbortController();
  let stopping = false;

  const poll = async (id: string) => {
    if (stopping || polls.has(id)) return;
    const inst = app.instances.find((i) => i.id === id)!;
    const run = runConnector(inst, { store: app.store, channels: app.channels, log, owner: app.owner, crashPoint, metrics, stop: stopPolls.signal });
    polls.set(id, run);
    try {
      const report = await run;
      if (report.eventsNew > 0 || report.cancelled > 0) trigger();
    } finally {
      polls.delete(id);
    }
  };

  /** A poll started by a schedule or a release: its failure is logged here, nobody awaits it. */
  const pollLogged = (id: string) => poll(id).catch((e) => outage?.report(e) || log.error({ err: e, connector: id }, 'connector run crashed'));
  const enabled = app.instances.filter((i) => i.settings.enabled);
  for (const inst of enabled) {
    tasks.push(cron.schedule(inst.settings.schedule, () => pollLogged(inst.id), {
      timezone: config.timeZone, noOverlap: true, name: `connector:${inst.id}`,
    }));
  }
  onReleased = (connectors) => {
    trigger();
    for (const id of connectors) if (enabled.some((i) => i.id === id)) void pollLogged(id);
  };
  tasks.push(...scheduleFeeds(app, trigger));
  tasks.push(cron.schedule(config.dispatcher.schedule, trigger, { timezone: config.timeZone, noOverlap: true, name: 'dispatcher' }));
  const { days, schedule } = config.retention;
  const scheduledPurge = async () => {
    const claim = await claimScheduledPurge(app.store.knex, app.owner, Date.now());
    if (!claim.claimed) return log.info({ by: claim.by, at: new Date(claim.at).toISOString() }, 'retention purge: another process on this store is doing it');
    const { cutoff, ...counts } = await purge(app.store.knex, { now: Date.now(), days });
    log.info({ ...counts, days, cutoff: new Date(cutoff).toISOString() }, 'retention purge done');
  };
  tasks.push(cron.schedule(schedule, () => scheduledPurge()
    .catch((e) => outage?.report(e) || log.error({ err: e }, 'retention purge failed; the next scheduled run retries')), { timezone: config.timeZone, noOverlap: true, name: 'purge' }));
  log.info({ connectors: app.instances.map((i) => `${i.id} (${i.settings.schedule})`), dispatcher: config.dispatcher.schedule, purge: schedule, store: app.store.where }, 'ponte running');
  const undeclared = undeclaredTemplatesWarning(config);
  if (undeclared) log.warn(undeclared);

  // The signal handlers come first: a SIGTERM during the first (possibly long) poll must still
  // stop gracefully, not kill the process with sends in flight.
  let schemaWatch: NodeJS.Timeout | undefined;
  let refused = false;
  const stopped = new Promise<DaemonStop>((resolve) => {
    const onSignal = (sig: NodeJS.Signals) => {
      if (stopping) {
        log.warn({ signal: sig }, 'second signal: exiting now; unfinished work is picked up safely by the next run');
        process.exit(130);
      }
      log.info({ signal: sig }, 'stopping: no new work is claimed; waiting for in-flight sends');
      stop();
    };
    // A newer Ponte migrated the store under this process (an upgrade while it ran): its writes
    // would follow the old schema's rules, so it stops as for a signal, and exits 1 to be noticed.
    schemaWatch = setInterval(() => {
      newerStoreProblem(app.store).then((why) => {
        if (!why || stopping) return;
        refused = true;
        log.error(`${why}. Stopping: no new work is claimed; in-flight sends finish and are recorded`);
        stop();
      }).catch(() => undefined); // an unreachable store is the claims' and /readyz's to report
    }, SCHEMA_CHECK_MS);
    schemaWatch.unref();
    const stop = () => {
      stopping = true;
      clearInterval(schemaWatch);
      for (const t of tasks) void t.stop();
      clearTimeout(held);
      stopPolls.abort();
      const graceMs = opts.graceMs ?? 30_000;
      void Promise.all([loop.stop(graceMs), settleWithin([...polls.values()], graceMs)]).then(async ([sends, pollsDone]) => {
        if (!sends) {
          // The requests still out are cut now, while the store is open, so that this run records
          // each as it is (uncertain with hold: it may have arrived; due again with resend) and the
          // log says what the store says. Left `sending`, they waited for the lease to expire and
          // the next run, while this run's log had already called them uncertain.
          log.warn(`grace period over: cutting the sends still in flight; they are recorded as ${config.dispatcher.onUncertain === 'hold' ? 'uncertain (held for an operator)' : 'due again (onUncertain: resend)'}; those not yet sent stay pending`);
          dispatcher.cut(); // first: a send prepared ahead must not take a slot the cut frees
          app.cutRequests();
          if (!(await loop.stop(RECORD_MS))) log.warn(`sends still unrecorded ${RECORD_MS / 1000} s after the cut: exiting; the next run ${config.dispatcher.onUncertain === 'hold' ? 'holds them as uncertain' : 'sends them again'}`);
        }
        if (!pollsDone) log.warn('grace period over: exiting during a connector poll (its uncommitted batch is read again by the next poll)');
        await server?.close();
        await stopSharing();
        // Nothing `sending` of this process's left: its journal has nothing to tell a release.
        try {
          // The alive socket goes with a journal that says nothing; else it stays until the exit,
          // so that the next process can tell this one is gone whatever pid namespace it runs in.
          if (journal?.unsettled === 0) { journal.remove(); await alive?.close(); } else journal?.close();
        } catch (e) { log.warn({ err: e }, 'could not remove the send journal; it is swept after a day'); }
        // The last line of a run: a supervisor's log shows it ended, and how.
        log.info({ clean: sends && pollsDone }, sends && pollsDone ? 'stopped: everything in flight was recorded' : 'stopped with work cut short (see above)');
        resolve({ clean: sends && pollsDone && !refused });
      });
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });

  if (opts.pollAtStart !== false) {
    for (const inst of enabled) {
      if (stopping) break;
      await poll(inst.id).catch((e) => log.error({ err: e }, 'connector run crashed'));
    }
  }
  if (!stopping) trigger();
  return stopped;
}

/** How often a running daemon looks for migrations it does not know (cheap: a small table). */
const SCHEMA_CHECK_MS = 5_000;

/** After the grace period, how long the cut sends get to be recorded before the process exits. */
const RECORD_MS = 5_000;

/**
 * Each process's embedded IO sandbox is a separate fake IO: a message one process sent is unknown
 * to another's, whose status poll of it gets 404 and records the delivery `failed`.
 */
export const SHARED_SANDBOX_WARNING = 'several Ponte processes share this store, but each runs an IO sandbox of its own (sandbox.io): '
  + 'a message sent through another process\'s sandbox cannot be read back here and its delivery ends failed ("status could not be read"). '
  + 'For several processes run one `ponte sandbox --port 8090` and point channels.appio.baseUrl at http://127.0.0.1:8090/api/v1, without sandbox.io';

/**
 * IO counts requests per owner account, whatever the number of Ponte processes: each live process
 * takes an equal share of every owner's limit, recomputed at every heartbeat. A process counts as
 * live until a full limit window plus two heartbeats after its last heartbeat, so that the others
 * take a larger share only once its requests have left IO's window (a killed process never says
 * goodbye; a stopping one records a last heartbeat instead of leaving). A starting process sends
 * nothing until the others have seen it and lowered their share, and until every recent process's
 * requests have left the window: `holdUntil`.
 */
async function shareAccountLimits(app: AppContext, socketGone: SocketGone | undefined, released: (connectors: string[]) => void): Promise<{ holdUntil: number; stop: () => Promise<void> }> {
  const io = app.channels.get('appio') as { setShare?: (f: number) => void } | undefined;
  const { knex } = app.store;
  const windows = Object.values(app.config.channels.appio?.owners ?? {}).map((o) => o.windowSeconds * 1000);
  const windowMs = windows.length ? Math.max(...windows) : 5000; // IO's own 150 / 5 s when no owner is configured
  const ttlMs = windowMs + 2 * HEARTBEAT_MS;
  let last = 0;
  const handled = new Set<string>();
  const beat = async () => {
    const now = Date.now();
    await heartbeat(knex, app.owner, now, app.identity);
    for (const r of await releaseDeadNeighbours(knex, { owner: app.owner, hostKey: app.identity.hostKey }, now, pidGone, handled, socketGone)) {
      const how = r.by === 'pid' ? `pid ${r.pid} on this machine` : `its alive socket is closed; its pid ${r.pid} could not tell, from another pid namespace or reused`;
      app.log.warn({ process: r.owner, pid: r.pid, deliveries: r.deliveries, connectors: r.connectors },
        `released the claims of a Ponte process that is gone (${how}): ${r.deliveries} deliveries, ${r.connectors.length} connector(s) resume now instead of when their leases run out`);
      released(r.connectors);
    }
    const live = await liveProcesses(knex, now, ttlMs);
    if (live !== last) {
      io?.setShare?.(1 / live);
      if (last !== 0 || live > 1) app.log.info({ processes: live }, `IO limits shared between ${live} Ponte process(es)`);
      if (live > 1 && app.sandbox) app.log.warn({ processes: live, sandbox: app.sandbox.url }, SHARED_SANDBOX_WARNING);
      last = live;
    }
  };
  await forgetDead(knex, Date.now(), FORGET_AFTER_MS);
  const now = Date.now();
  const others = await knex('processes').whereNot({ owner: app.owner }).where('heartbeat_at', '>=', now - ttlMs).max({ at: 'heartbeat_at' }).first();
  // Another process's last requests (up to a heartbeat after its last beat) leave the window
  // windowMs later; a live one lowers its share at its next heartbeat.
  const lastSeen = others?.at == null ? null : Number(others.at);
  const holdUntil = lastSeen === null || !io ? 0 : Math.max(lastSeen, now) + HEARTBEAT_MS + windowMs;
  await beat();
  const timer = setInterval(() => { beat().catch((e: unknown) => app.store.outage?.report(e) || app.log.warn({ err: e }, 'heartbeat failed')); }, HEARTBEAT_MS);
  timer.unref();
  return {
    holdUntil,
    stop: async () => {
      clearInterval(timer);
      // Not a goodbye: this process's requests stay in IO's window for a while, and the others
      // (and a restart) must count them until they leave it. The row expires after ttlMs.
      await heartbeat(knex, app.owner, Date.now()).catch(() => undefined);
    },
  };
}

function journalDir(app: AppContext): string {
  return app.config.dispatcher.sendJournalDir ?? defaultJournalDir();
}

/**
 * This process's send journal (send-journal.ts). Without one (a folder that cannot be written)
 * Ponte runs as before: a kill holds every `sending` uncertain, said once here.
 */
function openJournal(app: AppContext): SendJournal | undefined {
  const dir = journalDir(app);
  try {
    sweepStaleJournals(dir);
    return SendJournal.create(dir, app.identity.claimTag, (e) => app.log.error({ err: e, dir },
      'the send journal could not be written and was removed: until a restart, a kill holds every send in flight uncertain'));
  } catch (e) {
    app.log.warn({ err: e, dir }, 'no send journal (dispatcher.sendJournalDir): a kill holds every send in flight uncertain, even those that had not left (with sendAhead, up to that many more)');
    return undefined;
  }
}

/**
 * The journals of dead neighbours, read from the same folder (a process elsewhere left none here),
 * and their alive sockets (none without a boot id to name them by, off Linux).
 */
function journalsIn(app: AppContext, bootKey: string | null): Journals {
  const dir = journalDir(app);
  return {
    ...(bootKey ? { socketGone: (tag: string) => aliveSocketGone(dir, tag, bootKey) } : {}),
    // Unreadable is unknown: every `sending` of that process stays uncertain.
    read: (tag) => {
      try { return readSendJournal(dir, tag); } catch (e) { app.log.warn({ err: e, dir }, 'could not read a dead process\'s send journal: its sends in flight are held uncertain'); return null; }
    },
    remove: (tag) => {
      try { removeSendJournal(dir, tag); } catch { /* swept after a day */ }
      try { if (bootKey) removeAliveSocket(dir, tag, bootKey); } catch { /* swept after a day */ }
    },
  };
}
