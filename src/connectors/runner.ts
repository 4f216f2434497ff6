// One connector run: take the instance's lease, poll, and commit batch by batch (events and
// cursor in one transaction, fenced by the lease epoch). A failing run is recorded and retried at
// its next schedule; it never affects other connectors.
import type { Logger } from 'pino';
import type { Store } from '../store/db.js';
import type { Channel } from '../channels/channel.js';
import type { ConnectorInstance } from './registry.js';
import { routeFor } from './routing.js';
import { prepareBatch } from './prepare-batch.js';
import { commitBatch, encodeEvents } from '../store/commit-batch.js';
import { acquireLease, FencedError, readCursor, releaseLease, renewLease, type Lease } from '../store/lease.js';
import { pendingEntities } from '../store/pending-entities.js';
import { finishRun, startRun, type RunTotals } from '../store/runs.js';
import { maskText } from '../util/mask.js';
import { SimulatedCrash, type CrashPoint } from '../util/crash-point.js';
import type { PonteMetrics } from '../metrics/ponte-metrics.js';
import { nextTurn } from '../util/next-turn.js';
import { ProgressTracker, rowsTotalOf, type PollProgress } from './progress.js';

export interface RunnerDeps {
  store: Store;
  channels: Map<string, Channel>;
  log: Logger;
  /** Identifies this process in leases and run records. */
  owner: string;
  leaseMs?: number;
  clock?: () => number;
  /** Test-only crash points (PONTE_CRASH_AT), see src/util/crash-point.ts. */
  crashPoint?: CrashPoint;
  metrics?: PonteMetrics;
  /** Called after every committed batch and once at the end (rows read, events written, rate, time left). */
  onProgress?: (p: PollProgress) => void;
  /**
   * Interrupt (SIGINT during `ponte poll`): the run stops after the batch being committed, never
   * inside it; the next run resumes from the committed cursor.
   */
  stop?: AbortSignal;
}

export type RunStatus = 'ok' | 'failed' | 'fenced' | 'busy';

export interface RunReport extends RunTotals {
  instanceId: string;
  status: RunStatus;
  error?: string;
  /** The run was stopped by deps.stop after a committed batch; the rest is read by the next run. */
  interrupted?: boolean;
  /** busy: the process holding the connector's lease, and until when (epoch ms). */
  heldBy?: string;
  heldUntil?: number;
}

export async function runConnector(instance: ConnectorInstance, deps: RunnerDeps): Promise<RunReport> {
  const clock = deps.clock ?? Date.now;
  const leaseMs = deps.leaseMs ?? (instance.settings.leaseSeconds ?? DEFAULT_LEASE_SECONDS) * 1000;
  const log = deps.log.child({ connector: instance.id });
  const { knex } = deps.store;
  const totals: RunTotals = { rowsRead: 0, eventsNew: 0, eventsDuplicate: 0, cancelled: 0, rowErrors: 0 };

  const lease = await acquireLease(knex, instance.id, deps.owner, leaseMs, clock());
  if (!lease) {
    // Who and until when: a holder killed mid-poll keeps the connector until then, and an
    // operator seeing this every minute needs to know whether it is a live poll or a dead one.
    const held = (await knex('connector_state').where({ instance_id: instance.id }).first('lease_owner', 'lease_expires_at')) as { lease_owner: string | null; lease_expires_at: number | string | null } | undefined;
    const heldBy = held?.lease_owner ?? undefined;
    const heldUntil = held?.lease_expires_at == null ? undefined : Number(held.lease_expires_at);
    log.info({ heldBy, heldUntil: heldUntil === undefined ? undefined : new Date(heldUntil).toISOString() }, 'poll skipped: another process holds this connector');
    return { instanceId: instance.id, status: 'busy', ...totals, ...(heldBy ? { heldBy } : {}), ...(heldUntil !== undefined ? { heldUntil } : {}) };
  }
  const runId = await startRun(knex, instance.id, deps.owner, clock());
  const abort = new AbortController();
  const renew = setInterval(() => {
    renewLease(knex, lease, leaseMs, clock())
      .then((ok) => { if (!ok) abort.abort(new FencedError(instance.id)); })
      .catch((e: unknown) => deps.store.outage?.report(e) || log.warn({ err: e }, 'lease renewal failed'));
  }, Math.max(1000, leaseMs / 3));
  renew.unref();

  const started = clock();
  const t0 = performance.now(); // wall time for metrics: clock may be a test's fake clock
  log.info({ shape: instance.definition.shape }, 'poll started');
  let status: 'ok' | 'failed' | 'fenced' = 'ok';
  let error: string | undefined;
  const progress = new ProgressTracker(instance.id);
  let interrupted = false;
  try {
    interrupted = await pollAndCommit(instance, deps, lease, abort.signal, totals, progress);
  } catch (e) {
    if (e instanceof SimulatedCrash) { clearInterval(renew); throw e; } // a dead process records nothing
    status = e instanceof FencedError || abort.signal.reason instanceof FencedError ? 'fenced' : 'failed';
    error = maskText(e instanceof Error ? e.message : String(e));
    if (!deps.store.outage?.report(e)) log.error({ err: e, status }, 'poll failed; it will be retried at the next schedule');
  } finally {
    clearInterval(renew);
  }
  await finishRun(knex, runId, instance.id, status, totals, error ?? null, clock());
  deps.metrics?.connectorRun(instance.id, status, performance.now() - t0, totals);
  if (status !== 'fenced') await releaseLease(knex, lease, clock());
  deps.onProgress?.(progress.snapshot(true));
  log.info({ ...totals, status, ms: clock() - started, ...(interrupted ? { interrupted } : {}) }, interrupted ? 'poll interrupted after a committed batch; the next poll resumes from there' : 'poll finished');
  return { instanceId: instance.id, status, ...(error ? { error } : {}), ...(interrupted ? { interrupted } : {}), ...totals };
}

/** Returns true when deps.stop ended the run early (after a commit). */
async function pollAndCommit(instance: ConnectorInstance, deps: RunnerDeps, lease: Lease, signal: AbortSignal, totals: RunTotals, progress: ProgressTracker): Promise<boolean> {
  const clock = deps.clock ?? Date.now;
  const { knex } = deps.store;
  const log = deps.log.child({ connector: instance.id });
  const def = instance.definition;
  const cursor = def.shape === 'incremental' ? await readCursor(knex, instance.id) : undefined;
  const pending = def.shape === 'window' ? await pendingEntities(knex, instance.id) : [];
  const columns = def.columnsOf?.(instance.config);

  const batches = def.poll({ instanceId: instance.id, config: instance.config, cursor, now: new Date(clock()), log, pendingEntities: pending, pendingEntitiesNow: () => pendingEntities(knex, instance.id), signal })[Symbol.asyncIterator]();
  // Read ahead: the source fetches and checks its next page while this one commits (at most two
  // pages in memory), so the JavaScript of one page overlaps the database work of the other.
  // Commits stay one after another, in order; a page read ahead but not committed when the run
  // stops is simply read again by the next run, from the committed cursor.
  const readAhead = () => {
    const p = batches.next().then(async (step) => {
      if (step.done) return undefined;
      const prepared = await prepareBatch(step.value, { definition: def, channels: deps.channels, routeFor: (type) => routeFor(instance.settings, type), now: clock(), columns });
      // The store's encoding of the batch too, off the commit's critical path.
      return { batch: step.value, prepared, encoded: encodeEvents(knex, prepared.events, step.value.cancellations ?? []) };
    });
    p.catch(() => {}); // its failure surfaces when awaited below, not as an unhandled rejection
    return p;
  };
  try {
    let next = readAhead();
    for (;;) {
      const page = await next;
      if (!page) return false;
      const { batch, prepared, encoded } = page;
      signal.throwIfAborted();
      const now = clock();
      next = readAhead();
      deps.crashPoint?.('poll-before-commit');
      const result = await commitBatch(knex, {
        instanceId: instance.id,
        lease,
        events: prepared.events,
        cancellations: batch.cancellations ?? [],
        rowErrors: prepared.rowErrors,
        encoded,
        ...(def.shape === 'incremental' && batch.cursor !== undefined ? { cursor: batch.cursor } : {}),
        now,
      });
      deps.crashPoint?.('poll-after-commit');
      totals.rowsRead += batch.rowsRead ?? batch.events.length;
      totals.eventsNew += result.inserted;
      totals.eventsDuplicate += result.duplicates;
      totals.cancelled += result.cancelled;
      totals.rowErrors += prepared.rowErrors.length;
      for (const err of prepared.rowErrors) {
        log.warn({ row: err.rowKey, field: err.field }, `row skipped: ${maskText(err.message)}`);
      }
      // One line per event is useful for a few; a backfill's million would drown the log.
      if (result.insertedEvents.length <= EVENT_LINES) for (const e of result.insertedEvents) log.info({ event: e.key, type: e.type }, 'event stored');
      // With a progress display, the per-batch line would scroll it away (a backfill has thousands).
      if (result.inserted) log[deps.onProgress ? 'debug' : 'info']({ events: result.inserted, duplicates: result.duplicates }, 'batch committed');
      if (result.cancelled) log.info({ cancelled: result.cancelled }, 'pending deliveries cancelled by the back-office');
      progress.add({ rowsRead: batch.rowsRead ?? batch.events.length, eventsWritten: result.inserted, rowErrors: prepared.rowErrors.length, rowsTotal: rowsTotalOf(batch) });
      deps.onProgress?.(progress.snapshot());
      // Let the event loop turn between batches: with a synchronous driver (better-sqlite3) every
      // await resolves as a microtask, so without this the lease renewal timer and a Ctrl-C
      // would only be seen after the whole backfill.
      await nextTurn();
      if (deps.stop?.aborted) return true;
    }
  } finally {
    // Closes the connector's generator (its finally blocks release the source), after any read ahead.
    await batches.return?.(undefined);
  }
}

const EVENT_LINES = 20;
/** A poll's lease when the connector's settings name none: renewed every 20 s, taken over 60 s after a crash. */
const DEFAULT_LEASE_SECONDS = 60;
