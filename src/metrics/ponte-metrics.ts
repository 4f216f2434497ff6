// Ponte's Prometheus metrics. Two kinds:
// - facts of the store (deliveries by channel and state, uncertain, oldest due, halted channels),
//   read at scrape time, so every process sharing a store reports the same values;
// - what this process did (provider calls, send latency, 429s, polls, rate-limiter waits), counted
//   in memory from the moment the process started.
// Each instance owns its Registry (not prom-client's global one), so tests can make several.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { UNSENT_REPLY_STATES } from '../store/reply-outbox.js';
import type { Store } from '../store/db.js';
import type { Channel } from '../channels/channel.js';
import { StoreFactsReader, type StoreFacts, type StoreFactsOptions } from './store-gauges.js';
import { withTimeout } from './timeout.js';

/** A channel that can report its client-side rate limiters (AppIO: one per owner; WhatsApp: the number's throughput). */
export interface RateLimitedChannel {
  rateLimiters(): Array<{ owner: string; waitedMs: number; waiting: number }>;
}

export type ProviderCallKind = 'check' | 'send' | 'status';

export interface PonteMetricsOptions {
  store: Store;
  /** This process's channels: their limiters are read at scrape time, and their series start at 0. */
  channels?: ReadonlyMap<string, Channel>;
  clock?: () => number;
  /** Node.js process metrics (CPU, memory, event loop lag), prefixed ponte_. Default true. */
  processMetrics?: boolean;
  /** How long a scrape waits for the store's facts. Default 3000 ms. */
  storeTimeoutMs?: number;
  /** How often the finished deliveries are counted (a read of the whole ledger). */
  storeFacts?: StoreFactsOptions;
}

/** The subset of a run's totals the metrics count. */
export interface RunCounts {
  rowsRead: number;
  eventsNew: number;
  rowErrors: number;
}

const PREFIX = 'ponte_';

/**
 * Said in the HELP of every gauge read from the store: Prometheus scrapes each process, and a
 * dashboard's sum() over three processes would show three times the uncertain deliveries.
 */
export const STORE_WIDE = ' Store-wide: every process sharing the store reports the same value, so aggregate across processes with max(), not sum().';
/** Said in the HELP of what one process counts or sees, which sum() across processes adds up. */
export const PER_PROCESS = ' Per process: sum() across processes gives the installation\'s total.';

function isRateLimited(c: Channel): c is Channel & RateLimitedChannel {
  return typeof (c as Partial<RateLimitedChannel>).rateLimiters === 'function';
}

/** What the dispatcher's SendAhead shows (send-ahead.ts). */
export interface SendAheadSource {
  readonly now: number;
  readonly latencies: { commitMs: number | undefined };
}

export class PonteMetrics {
  readonly registry = new Registry();
  private readonly store: Store;
  private readonly channels: ReadonlyMap<string, Channel>;
  private readonly clock: () => number;
  private readonly storeTimeoutMs: number;
  private refreshing: Promise<void> | null = null;
  private readonly storeFacts: StoreFactsReader;

  private readonly deliveries: Gauge<'channel' | 'state'>;
  private readonly uncertain: Gauge<'channel'>;
  private readonly replies: Gauge<'state'>;
  private readonly oldestDue: Gauge;
  private readonly halted: Gauge<'channel'>;
  private readonly storeUp: Gauge;
  private readonly sendDuration: Histogram<'channel' | 'outcome'>;
  private readonly providerCalls: Counter<'channel' | 'kind' | 'outcome'>;
  private readonly rateLimited: Counter<'channel'>;
  private readonly outcomes: Counter<'channel' | 'outcome'>;
  private readonly pollDuration: Histogram<'connector' | 'status'>;
  private readonly rowsRead: Counter<'connector'>;
  private readonly eventsNew: Counter<'connector'>;
  private readonly rowErrors: Counter<'connector'>;

  constructor(opts: PonteMetricsOptions) {
    this.store = opts.store;
    this.channels = opts.channels ?? new Map();
    this.clock = opts.clock ?? Date.now;
    this.storeTimeoutMs = opts.storeTimeoutMs ?? 3000;
    this.storeFacts = new StoreFactsReader(opts.store.knex, opts.storeFacts);
    const registers = [this.registry];
    if (opts.processMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: PREFIX });

    this.deliveries = new Gauge({ name: `${PREFIX}deliveries`, help: `Deliveries in the store, by channel and state (read at scrape time).${STORE_WIDE}`, labelNames: ['channel', 'state'], registers });
    this.uncertain = new Gauge({ name: `${PREFIX}deliveries_uncertain`, help: `Deliveries whose send may or may not have reached the provider, held for an operator (read at scrape time).${STORE_WIDE}`, labelNames: ['channel'], registers });
    this.oldestDue = new Gauge({ name: `${PREFIX}oldest_due_delivery_age_seconds`, help: `How long the oldest due pending/accepted delivery has been waiting; 0 when none is overdue.${STORE_WIDE}`, registers });
    this.halted = new Gauge({ name: `${PREFIX}channel_halted`, help: `1 while a stop-and-alert condition halts the channel (until \`ponte channel resume\`), else 0.${STORE_WIDE}`, labelNames: ['channel'], registers });
    this.replies = new Gauge({ name: `${PREFIX}reply_outbox`, help: `Replies to citizens on WhatsApp not sent (yet): pending or sending (the sweep retries them), failed (refused for good), stale (dropped after 15 minutes); read at scrape time.${STORE_WIDE}`, labelNames: ['state'], registers });
    this.storeUp = new Gauge({ name: `${PREFIX}store_up`, help: '1 when this process could read the store at this scrape, else 0 (the store-derived series are then absent). Per process: alert on min(), or on each.', registers });

    this.sendDuration = new Histogram({
      name: `${PREFIX}send_duration_seconds`, help: `Latency of each send request to the provider (each try), by outcome.${PER_PROCESS}`,
      labelNames: ['channel', 'outcome'], buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers,
    });
    this.providerCalls = new Counter({ name: `${PREFIX}provider_calls_total`, help: `Calls through a channel (each try): kind check|send|status, outcome ok or the error class.${PER_PROCESS}`, labelNames: ['channel', 'kind', 'outcome'], registers });
    this.rateLimited = new Counter({ name: `${PREFIX}provider_429_total`, help: `Answers refusing a call for rate (HTTP 429; WhatsApp code 130429).${PER_PROCESS}`, labelNames: ['channel'], registers });
    this.outcomes = new Counter({ name: `${PREFIX}delivery_outcomes_total`, help: `What the dispatcher made of each claimed delivery: its new state, or held/lost.${PER_PROCESS}`, labelNames: ['channel', 'outcome'], registers });

    this.pollDuration = new Histogram({
      name: `${PREFIX}connector_poll_duration_seconds`, help: `Duration of each connector run, by status (ok|failed|fenced).${PER_PROCESS}`,
      labelNames: ['connector', 'status'], buckets: [0.1, 0.5, 1, 2.5, 5, 15, 30, 60, 300], registers,
    });
    this.rowsRead = new Counter({ name: `${PREFIX}connector_rows_read_total`, help: `Back-office rows read by the connector.${PER_PROCESS}`, labelNames: ['connector'], registers });
    this.eventsNew = new Counter({ name: `${PREFIX}connector_events_new_total`, help: `New events stored (duplicates of the ledger not counted).${PER_PROCESS}`, labelNames: ['connector'], registers });
    this.rowErrors = new Counter({ name: `${PREFIX}connector_row_errors_total`, help: `Back-office rows skipped with a row error.${PER_PROCESS}`, labelNames: ['connector'], registers });

    const channels = this.channels;
    new Counter({
      name: `${PREFIX}rate_limiter_wait_seconds_total`, help: `Time calls spent waiting for a slot in the client-side rate limiter, by owner account.${PER_PROCESS}`,
      labelNames: ['channel', 'owner'], registers,
      // The limiter keeps its own running total (RateWindow.waitedMs): copy it at scrape time.
      collect() {
        this.reset();
        for (const [name, c] of channels) if (isRateLimited(c)) for (const l of c.rateLimiters()) this.inc({ channel: name, owner: l.owner }, l.waitedMs / 1000);
      },
    });
    new Gauge({
      name: `${PREFIX}rate_limiter_waiting`, help: `Calls waiting in the client-side rate limiter now.${PER_PROCESS}`,
      labelNames: ['channel', 'owner'], registers,
      collect() {
        this.reset();
        for (const [name, c] of channels) if (isRateLimited(c)) for (const l of c.rateLimiters()) this.set({ channel: name, owner: l.owner }, l.waiting);
      },
    });

    // The dispatcher's pacing (src/dispatch/send-ahead.ts), read at scrape time from the one it names.
    const metrics = this;
    new Gauge({
      name: `${PREFIX}send_ahead`, help: `Deliveries the dispatcher prepares now beyond its request slots (their \`sending\` committed before a slot frees), within dispatcher.sendAhead: twice concurrency × the \`sending\` commit's time ÷ the send request's, at least 1.${PER_PROCESS}`,
      registers,
      collect() {
        this.reset();
        if (metrics.pace) this.set(metrics.pace.now);
      },
    });
    new Gauge({
      name: `${PREFIX}sending_commit_seconds`, help: `Moving average of how long a \`sending\` write takes to commit before its request may leave (a slow store shows here first).${PER_PROCESS}`,
      registers,
      collect() {
        this.reset();
        const ms = metrics.pace?.latencies.commitMs;
        if (ms !== undefined) this.set(ms / 1000);
      },
    });

    // Series that exist from the start, so rate() and alerts see 0 rather than nothing.
    for (const channel of this.channels.keys()) this.rateLimited.inc({ channel }, 0);
  }

  /** Whose send-ahead pacing /metrics shows (the dispatcher's; the latest one named). */
  private pace: SendAheadSource | undefined;

  watchSendAhead(pace: SendAheadSource): void {
    this.pace = pace;
  }

  /** The Content-Type of metrics() (Prometheus text format 0.0.4). */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** One provider call (one try). `ms` is its wall time; `error` the failure's detail, if it failed. */
  providerCall(channel: string, kind: ProviderCallKind, outcome: string, ms: number, error?: { status?: number; code?: string }): void {
    this.providerCalls.inc({ channel, kind, outcome });
    if (kind === 'send') this.sendDuration.observe({ channel, outcome }, ms / 1000);
    // WhatsApp's throughput refusal is code 130429 with HTTP 400: the same condition as IO's 429.
    if (error?.status === 429 || error?.code === '130429') this.rateLimited.inc({ channel });
  }

  /** What the dispatcher made of one claimed delivery. */
  deliveryOutcome(channel: string, outcome: string): void {
    this.outcomes.inc({ channel, outcome });
  }

  /** One finished connector run (not a 'busy' one: nothing was polled). */
  connectorRun(connector: string, status: 'ok' | 'failed' | 'fenced', ms: number, counts: RunCounts): void {
    this.pollDuration.observe({ connector, status }, ms / 1000);
    this.rowsRead.inc({ connector }, counts.rowsRead);
    this.eventsNew.inc({ connector }, counts.eventsNew);
    this.rowErrors.inc({ connector }, counts.rowErrors);
  }

  /** The Prometheus text: the store's facts are read first (one read shared by concurrent scrapes). */
  async metrics(): Promise<string> {
    this.refreshing ??= this.refreshStoreFacts().finally(() => { this.refreshing = null; });
    await this.refreshing;
    return this.registry.metrics();
  }

  private async refreshStoreFacts(): Promise<void> {
    let facts: StoreFacts;
    try {
      facts = await withTimeout(this.storeFacts.read(this.clock()), this.storeTimeoutMs, 'reading the store for metrics');
    } catch {
      // Stale numbers would be worse than none: drop them and say the store could not be read.
      for (const g of [this.deliveries, this.uncertain, this.oldestDue, this.halted, this.replies]) g.reset();
      this.storeUp.set(0);
      return;
    }
    this.storeUp.set(1);
    this.deliveries.reset();
    this.uncertain.reset();
    this.halted.reset();
    // Every state of every known channel, 0 included: a state that empties must drop to 0, not vanish.
    // (Until the finished deliveries of a big ledger are first counted, their states are absent.)
    const channels = new Set([...this.channels.keys(), ...facts.deliveries.keys()]);
    for (const channel of channels) {
      const byState = facts.deliveries.get(channel);
      for (const state of facts.states) this.deliveries.set({ channel, state }, byState?.get(state) ?? 0);
      this.uncertain.set({ channel }, byState?.get('uncertain') ?? 0);
    }
    for (const channel of new Set([...this.channels.keys(), ...facts.halted])) this.halted.set({ channel }, facts.halted.has(channel) ? 1 : 0);
    this.oldestDue.set(facts.oldestDueSeconds);
    for (const state of UNSENT_REPLY_STATES) this.replies.set({ state }, facts.replies.get(state) ?? 0);
  }
}
