// The facts /metrics reads from the store at scrape time: deliveries by channel and state, how
// late the oldest due work is, the halted channels and the replies not sent. A scrape comes every
// 15–60 s, so each read must cost what the live work costs, not what the ledger weighs:
// - the deliveries still in play (pending, sending, accepted, uncertain) are counted at every
//   scrape while that is cheap. Scheduled reminders can make them a million rows (1.3 s on
//   PostgreSQL): a count that slow is reused for many times as long as it took, and redone in the
//   background, so counting takes at most a twentieth of the store's time;
// - the finished ones, millions after years of service and counted only by reading the whole
//   table (a third of a second per million rows), at most every few minutes, in the background.
// `ponte status` (src/store/status.ts) counts everything at once for a person.
import type { Knex } from 'knex';
import { DELIVERY_STATES, TERMINAL_STATES, type DeliveryState } from '../store/states.js';
import { unsentReplies, type UnsentReplyState } from '../store/reply-outbox.js';
import { deliveryCounts, oldestDueAt, type DeliveryCounts as Counts } from '../store/delivery-counts.js';
import { parseAlertKey } from '../store/channel-alerts.js';

export interface StoreFacts {
  /** channel → state → count: the live states always, the finished ones once first read. */
  deliveries: Counts;
  /** The states `deliveries` covers (every state once the finished ones have been read). */
  states: readonly DeliveryState[];
  /** Seconds since the oldest pending/accepted delivery became due; 0 when nothing is overdue. */
  oldestDueSeconds: number;
  /** Channels with an active stop-and-alert condition. */
  halted: Set<string>;
  /** Replies to citizens in the outbox by state, those not sent (pending, sending, failed, stale). */
  replies: Map<UnsentReplyState, number>;
}

/** States a delivery can still leave by itself: counted at every scrape. */
export const LIVE_STATES: readonly DeliveryState[] = DELIVERY_STATES.filter((s) => !TERMINAL_STATES.includes(s));

export interface StoreFactsOptions {
  /** How old the finished deliveries' counts may be before a scrape starts a new count. Default 5 minutes. */
  finishedMaxAgeMs?: number;
  /** How long a scrape waits for the very first count of the finished ones before going without. Default 1 s. */
  firstWaitMs?: number;
  /** How the finished deliveries are counted (tests slow it down or make it fail). */
  countFinished?: (knex: Knex) => Promise<Counts>;
  /** How the live deliveries are counted (tests slow it down). */
  countLive?: (knex: Knex) => Promise<Counts>;
  /** Wall clock (ms) that times the live count (tests). */
  wallClock?: () => number;
}

/** A live count faster than this is redone at every scrape: fresh figures cost nothing there. */
const SLOW_COUNT_MS = 50;
/** A slower one is reused for this many times as long as it took: counting keeps the store busy 1/20 of the time at most. */
const SLOW_COUNT_REUSE = 19;

export class StoreFactsReader {
  private finished: { at: number; counts: Counts } | null = null;
  /** The count of finished deliveries in flight, if any (awaited by tests). */
  counting: Promise<void> | null = null;
  private readonly maxAgeMs: number;
  private readonly firstWaitMs: number;
  private readonly countFinished: (knex: Knex) => Promise<Counts>;
  private readonly countLive: (knex: Knex) => Promise<Counts>;
  private readonly wall: () => number;
  /** The last live count, when it ended (wall clock, ms) and how long it took. */
  private live: { endedAt: number; tookMs: number; counts: Counts } | null = null;
  /** The live count in flight, if any (awaited by tests). */
  liveCounting: Promise<Counts> | null = null;

  constructor(private readonly knex: Knex, opts: StoreFactsOptions = {}) {
    this.maxAgeMs = opts.finishedMaxAgeMs ?? 5 * 60_000;
    this.firstWaitMs = opts.firstWaitMs ?? 1_000;
    this.countFinished = opts.countFinished ?? ((k) => deliveryCounts(k, TERMINAL_STATES));
    this.countLive = opts.countLive ?? ((k) => deliveryCounts(k, LIVE_STATES));
    this.wall = opts.wallClock ?? (() => performance.now());
  }

  /** The live states' counts: fresh, or (when counting them is slow) the last ones while they are recent. */
  private async liveCounts(): Promise<Counts> {
    const last = this.live;
    const count = () => (this.liveCounting ??= (async () => {
      const t0 = this.wall();
      const counts = await this.countLive(this.knex);
      const t1 = this.wall();
      this.live = { endedAt: t1, tookMs: t1 - t0, counts };
      return counts;
    })().finally(() => { this.liveCounting = null; }));
    if (!last || last.tookMs < SLOW_COUNT_MS) return count();
    if (this.wall() - last.endedAt >= last.tookMs * SLOW_COUNT_REUSE) {
      count().catch(() => {}); // a failed refresh keeps the last count; a later scrape tries again
    }
    return last.counts;
  }

  async read(now: number): Promise<StoreFacts> {
    const { knex } = this;
    const starts = !this.counting && (!this.finished || now - this.finished.at >= this.maxAgeMs);
    if (starts) {
      // A failed count keeps the previous one (or none); the next scrape tries again.
      this.counting = this.countFinished(knex).then((counts) => { this.finished = { at: now, counts }; }, () => {})
        .finally(() => { this.counting = null; });
    }
    const live = await this.liveCounts();
    // The first scrape of a small store gets everything; that of a big one goes without the finished
    // states, and so do the scrapes while that first count runs (without waiting again).
    if (starts && !this.finished && this.counting) await Promise.race([this.counting, new Promise((r) => setTimeout(r, this.firstWaitMs).unref())]);
    // The two counts cover disjoint states: a channel's maps join without overwriting.
    const deliveries: Counts = new Map(live);
    for (const [channel, byState] of this.finished?.counts ?? []) deliveries.set(channel, new Map([...(live.get(channel) ?? []), ...byState]));
    const t = await oldestDueAt(knex, now);
    const alerts = (await knex('channel_alerts').select('channel')) as { channel: string }[];
    return {
      deliveries,
      states: this.finished ? DELIVERY_STATES : LIVE_STATES,
      oldestDueSeconds: t == null ? 0 : Math.max(0, (now - t) / 1000),
      // A halted part (one IO service) counts as its channel halted: something needs an operator.
      halted: new Set(alerts.map((a) => parseAlertKey(a.channel).channel)),
      replies: await unsentReplies(knex),
    };
  }
}
