// The dispatcher: claims due deliveries in batches and works them with bounded concurrency,
// prefetching the next batch while the current one is in flight so the channels stay busy.
import type { Logger } from 'pino';
import type { Store } from '../store/db.js';
import type { Channel, ChannelError } from '../channels/channel.js';
import type { DispatcherConfig } from '../config/schema.js';
import type { ClaimedDelivery } from '../store/rows.js';
import { claimDeliveries } from '../store/claim-deliveries.js';
import { recoverStaleSends } from '../store/recover-stale.js';
import { deferClaim, LostLeaseError, releaseClaim, releaseClaims } from '../store/update-delivery.js';
import { deliveryContext, processDelivery, type Outcome } from './process-delivery.js';
import { SimulatedCrash, type CrashPoint } from '../util/crash-point.js';
import { activeAlerts, alertKey, HALT_RETRY_MS, parseAlertKey, raiseAlert } from '../store/channel-alerts.js';
import { AttemptLog } from '../store/attempts.js';
import { DeliveryWriter } from '../store/write-deliveries.js';
import { isUnreachable } from '../store/outage.js';
import type { PonteMetrics } from '../metrics/ponte-metrics.js';
import { ProviderSlots } from './provider-slots.js';
import type { SendJournal } from './send-journal.js';
import { SendAhead } from './send-ahead.js';

export interface DispatcherDeps {
  store: Store;
  channels: Map<string, Channel>;
  cfg: DispatcherConfig;
  log: Logger;
  clock?: () => number;
  crashPoint?: CrashPoint | undefined;
  random?: () => number;
  /** Time zone of quiet hours (default Europe/Rome). */
  timeZone?: string;
  metrics?: PonteMetrics;
  /** This process's claim tag (see ClaimOptions.tokenPrefix); `ponte run` sets it. */
  claimTag?: string;
  /** Where send requests are recorded as they leave (send-journal.ts); `ponte run` keeps one. */
  journal?: SendJournal;
  /**
   * Run before stale sends are held uncertain: makes due again those a gone process's journal
   * shows never left (dead-processes.ts resendUnsentOfGone); returns how many.
   */
  resendUnsent?: (now: number) => Promise<number>;
}

export interface DrainStats {
  processed: number;
  outcomes: Partial<Record<Outcome, number>>;
  /** Sends a stopped process left `sending`: now uncertain (hold) or due again (resend). */
  recoveredSends: number;
}

interface Work {
  item: ClaimedDelivery;
  token: string;
}

export class Dispatcher {
  private stopping = false;
  private readonly halted = new Map<string, string>();
  private readonly clock: () => number;
  private readonly attempts: AttemptLog;
  /** State changes, group-committed: one statement for the writes of many concurrent sends. */
  private readonly writer: DeliveryWriter;
  /** Provider requests in flight, at most cfg.concurrency however many deliveries are being worked. */
  private readonly providerSlots: ProviderSlots;
  /** How many deliveries are worked beyond the request slots (at most cfg.sendAhead), as measured. */
  readonly sendAhead: SendAhead;

  constructor(private readonly deps: DispatcherDeps) {
    this.clock = deps.clock ?? Date.now;
    // Prepared sends handed a slot in one turn are at most sendAhead: a small sendAhead keeps bursting, as before.
    this.providerSlots = new ProviderSlots(deps.cfg.concurrency, { burstAt: Math.max(1, Math.min(4, deps.cfg.sendAhead)) });
    this.sendAhead = new SendAhead(deps.cfg.sendAhead, deps.cfg.concurrency, deps.cfg.onUncertain === 'resend');
    deps.metrics?.watchSendAhead(this.sendAhead);
    this.attempts = new AttemptLog(deps.store);
    // PostgreSQL: the provider calls logged meanwhile ride along with each group commit.
    this.writer = new DeliveryWriter(deps.store, { attempts: this.attempts });
  }

  /**
   * Channels stopped by a stop-and-alert error (as of the last pass), with the reason; a key
   * "<channel>:<part>" stops only that part (an IO service whose key IO refused).
   */
  get haltedChannels(): ReadonlyMap<string, string> {
    return this.halted;
  }

  /**
   * Halts this process met and has not yet seen recorded: they hold here until the store has them
   * (a pass that read the alerts before the write committed, or after it failed, would send on).
   */
  private readonly unrecorded = new Map<string, { reason: string; code: string | undefined; since: number }>();
  /** Alert writes in flight: awaited before a pass ends, so the next pass and other processes see them. */
  private readonly raising = new Set<Promise<void>>();

  private halt(key: string, reason: string, code: string | undefined): void {
    this.halted.set(key, reason);
    const alert = { reason, code, since: this.clock() };
    this.unrecorded.set(key, alert);
    this.record(key, alert);
  }

  private record(key: string, alert: { reason: string; code: string | undefined; since: number }): void {
    const p = raiseAlert(this.deps.store.knex, key, alert.reason, alert.code, alert.since)
      .then(() => { if (this.unrecorded.get(key) === alert) this.unrecorded.delete(key); })
      .catch((e: unknown) => this.deps.log.error({ err: e, channel: key }, 'could not record the channel alert; the channel stays halted in this process, recording is retried at the next pass'))
      .finally(() => this.raising.delete(p));
    this.raising.add(p);
  }

  private async refreshAlerts(): Promise<void> {
    while (this.raising.size) await Promise.all(this.raising);
    for (const [key, alert] of this.unrecorded) this.record(key, alert);
    while (this.raising.size) await Promise.all(this.raising);
    const alerts = await activeAlerts(this.deps.store.knex);
    this.halted.clear();
    for (const a of alerts) this.halted.set(a.channel, a.reason);
    for (const [key, { reason }] of this.unrecorded) this.halted.set(key, reason);
  }

  /** Halts as last logged: a halt is logged when it comes (or its reason changes) and when it ends, not at every pass. */
  private readonly loggedHalts = new Map<string, string>();

  private reportHalts(): void {
    for (const [key, reason] of this.halted) {
      const { channel, part } = parseAlertKey(key);
      if (!this.deps.channels.has(channel) || this.loggedHalts.get(key) === reason) continue;
      this.loggedHalts.set(key, reason);
      const what = part ? `${channel} ${part}` : `channel ${channel}`;
      this.deps.log.error({ channel, ...(part ? { part } : {}), reason }, `${what} is HALTED: its deliveries stay pending until \`ponte channel resume ${channel}\``);
    }
    for (const key of [...this.loggedHalts.keys()]) {
      if (this.halted.has(key)) continue;
      this.loggedHalts.delete(key);
      const { channel, part } = parseAlertKey(key);
      this.deps.log.warn({ channel, ...(part ? { part } : {}) }, `${part ? `${channel} ${part}` : `channel ${channel}`} resumed: its deliveries go out again`);
    }
  }

  /** Stop claiming; in-flight work finishes. */
  stop(): void {
    this.stopping = true;
  }

  /** A stop's grace period is over: no request leaves any more (those in flight are the channels' to cut). */
  private cutOff = false;

  cut(): void {
    this.stopping = true;
    this.cutOff = true;
  }

  /** Works everything that is due now, then returns. */
  async drain(): Promise<DrainStats> {
    const { cfg, store } = this.deps;
    const stats: DrainStats = { processed: 0, outcomes: {}, recoveredSends: 0 };
    const unsent = (await this.deps.resendUnsent?.(this.clock())) ?? 0;
    if (unsent) this.deps.log.warn({ count: unsent }, `${unsent} send(s) of a stopped process had not left (its send journal says so): due again, not held uncertain`);
    stats.recoveredSends = await recoverStaleSends(store.knex, this.clock(), cfg.onUncertain);
    if (stats.recoveredSends) {
      this.deps.log.warn({ count: stats.recoveredSends }, cfg.onUncertain === 'hold' ? 'sends interrupted by a stop are now uncertain (held for an operator)' : 'sends interrupted by a stop are due again (onUncertain: resend)');
    }

    const queue: Work[] = [];
    let exhausted = false;
    let refilling: Promise<void> | null = null;
    const refill = (): Promise<void> => {
      refilling ??= (async () => {
        // Halts are read again at every claim, not only at the pass's start: another process's (or
        // an operator's `ponte channel halt`) stops this one within a batch, however long the pass.
        await this.refreshAlerts();
        this.reportHalts();
        const channels = [...this.deps.channels.keys()].filter((c) => !this.halted.has(c));
        if (channels.length === 0) { exhausted = true; return; }
        const { token, items } = await claimDeliveries(store, { limit: cfg.batchSize, leaseMs: cfg.leaseSeconds * 1000, now: this.clock(), channels, countTakeovers: cfg.onUncertain === 'resend', ...(this.deps.claimTag ? { tokenPrefix: this.deps.claimTag } : {}) });
        if (items.length < cfg.batchSize) exhausted = true;
        if (items.length) this.deps.crashPoint?.('after-claim');
        for (const item of items) queue.push({ item, token });
      })().catch((e: unknown) => { exhausted = true; throw e; }).finally(() => { refilling = null; });
      return refilling;
    };

    // Up to sendAhead more workers than request slots: they prepare (checks, rate slot, `sending`)
    // while the requests ahead of them are in flight, so a freed slot is taken at once. How many of
    // them work at a time follows the measured commit and request latencies (send-ahead.ts); the
    // others wait here, at the gate, holding no delivery.
    const workers = cfg.concurrency + cfg.sendAhead;
    let working = 0;
    const gate: Array<() => void> = [];
    const limit = (): number => cfg.concurrency + this.sendAhead.now;
    const open = (all: boolean): void => {
      const room = all ? gate.length : limit() - working;
      for (const wake of gate.splice(0, Math.max(0, room))) wake();
    };
    const worker = async (): Promise<void> => {
      while (!this.stopping) {
        if (queue.length === 0) {
          if (exhausted) return;
          await refill();
          continue;
        }
        if (working >= limit()) {
          await new Promise<void>((wake) => gate.push(wake));
          continue;
        }
        // The next claim starts while half a batch is still queued: a claim takes a few ms, which
        // at the last few queued items left workers idle (no-op sends: 7.9k → 8.2k/s).
        if (queue.length < Math.max(workers, cfg.batchSize / 2) && !exhausted && !refilling) void refill().catch(() => { exhausted = true; });
        const work = queue.shift()!;
        working++;
        try {
          if (this.backlogged) await this.throttle(); // checked here: no promise per delivery while the store keeps up
          const outcome = await this.work(work);
          this.deps.metrics?.deliveryOutcome(work.item.delivery.channel, outcome);
          stats.processed++;
          stats.outcomes[outcome] = (stats.outcomes[outcome] ?? 0) + 1;
        } finally {
          working--;
          open(false);
        }
      }
    };
    try {
      // Every worker ends before the pass does, a failed one included: with Promise.all the pass
      // ended at the first failure (a claim on a store gone away) while other workers were still
      // waiting on the store to write a `sending`; the next pass's recovery then found that
      // `sending` with the claim's lease run out and held it uncertain, as its request left.
      // A worker that ends opens the gate to all: those waiting there see the pass ending too.
      const ended = await Promise.allSettled(Array.from({ length: workers }, () => worker().finally(() => open(true))));
      const failed = ended.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    } finally {
      // Claimed but never started (a stop, or an error): given back for the next pass or process.
      await (refilling as Promise<void> | null)?.catch(() => undefined);
      await this.release(queue.splice(0)).catch((e: unknown) => this.deps.store.outage?.report(e) || this.deps.log.warn({ err: e }, 'could not give back unstarted claims; their leases expire'));
      while (this.deferred.size) await Promise.all(this.deferred);
      while (this.raising.size) await Promise.all(this.raising);
      await this.writer.settle();
      await this.attempts.flush();
    }
    return stats;
  }

  private async release(left: Work[]): Promise<void> {
    const byToken = new Map<string, number[]>();
    for (const { item, token } of left) {
      const ids = byToken.get(token) ?? [];
      ids.push(item.delivery.id);
      byToken.set(token, ids);
    }
    for (const [token, ids] of byToken) await releaseClaims(this.deps.store.knex, ids, token);
  }

  /** Outcome writes in flight: awaited before a pass ends; a refused one is a lost claim. */
  private readonly deferred = new Set<Promise<void>>();

  private defer(id: number, write: () => Promise<void>): void {
    // Settled only once written: until then the delivery is `sending` and its journal line must stay.
    const p = this.recorded(write).then(() => this.deps.journal?.settled(id), (e: unknown) => {
      if (e instanceof LostLeaseError) {
        this.deps.journal?.settled(id); // another process's claim now: not this journal's to answer for
        this.deps.log.warn({ delivery: id }, e.message);
      }
      else this.deps.log.error({ err: e, delivery: id }, 'could not record the outcome of a delivery; its lease expiry makes it uncertain');
    }).finally(() => this.deferred.delete(p));
    this.deferred.add(p);
  }

  /**
   * An outcome the provider has given is written however long the store is away: dropped, it left
   * the delivery `sending`, and the next pass held it uncertain although IO had answered. The pass
   * ends only once these are written, so its successor's recovery of stale sends cannot come first.
   * (Another process may take the claim over meanwhile, once its lease has run out: the write is
   * then refused, and the delivery is what that process made of it.)
   */
  private async recorded(write: () => Promise<void>): Promise<void> {
    for (let waitMs = 250; ; waitMs = Math.min(waitMs * 2, 4_000)) {
      try {
        return await write();
      } catch (e) {
        if (!isUnreachable(e)) throw e;
        this.deps.store.outage?.report(e);
        await new Promise((r) => setTimeout(r, waitMs));
      }
    }
  }

  /** Backpressure: a store slower than the provider must not let unrecorded outcomes pile up. */
  private get backlogged(): boolean {
    return this.deferred.size > this.deps.cfg.batchSize * 4;
  }

  private async throttle(): Promise<void> {
    while (this.backlogged) await Promise.race(this.deferred);
  }

  private async work({ item, token }: Work): Promise<Outcome> {
    const channel = this.deps.channels.get(item.delivery.channel)!;
    if (this.halted.has(channel.name)) {
      await releaseClaim(this.deps.store.knex, item.delivery.id, token);
      return 'held';
    }
    // A halted part (one IO service): the channel is still claimed for its other parts, so this
    // delivery is put off, not just released, or the next claims would take it again first.
    const part = this.halted.size ? channel.partOf?.(deliveryContext(item)) : undefined;
    if (part !== undefined && this.halted.has(alertKey(channel.name, part))) {
      await deferClaim(this.deps.store.knex, item.delivery.id, token, this.clock() + HALT_RETRY_MS, this.clock());
      return 'held';
    }
    try {
      return await processDelivery(item, {
        knex: this.deps.store.knex,
        channel,
        cfg: this.deps.cfg,
        log: this.deps.log,
        clock: this.clock,
        token,
        attempts: this.attempts,
        writer: this.writer,
        defer: (id, write) => this.defer(id, write),
        timeZone: this.deps.timeZone ?? 'Europe/Rome',
        crashPoint: this.deps.crashPoint,
        metrics: this.deps.metrics,
        providerSlots: this.providerSlots,
        sendAhead: this.sendAhead,
        journal: this.deps.journal,
        ...(this.deps.random ? { random: this.deps.random } : {}),
        onHalt: (name: string, err: ChannelError) => {
          this.halt(alertKey(name, err.detail.part), err.message, err.detail.code ?? (err.detail.status ? `http ${err.detail.status}` : undefined));
        },
        cutOff: () => this.cutOff,
        haltedBy: (ctx) => {
          const whole = this.halted.get(channel.name);
          if (whole !== undefined || this.halted.size === 0) return whole;
          const p = channel.partOf?.(ctx);
          return p === undefined ? undefined : this.halted.get(alertKey(channel.name, p));
        },
      });
    } catch (e) {
      if (e instanceof SimulatedCrash) { this.stopping = true; throw e; }
      if (e instanceof LostLeaseError) {
        this.deps.log.warn({ delivery: item.delivery.id }, e.message);
        return 'lost';
      }
      // An unexpected bug must not stop the other deliveries: log it; the lease expiry retries it.
      // A store gone away is said once for the process (no request left: the claim runs out).
      if (!this.deps.store.outage?.report(e)) this.deps.log.error({ err: e, delivery: item.delivery.id }, 'unexpected error while processing a delivery');
      return 'lost';
    }
  }
}
