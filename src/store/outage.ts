// The store going away under a running process (a PostgreSQL restart, a failover, a network blip):
// every part of the daemon meets it at once (claims, outcome writes, polls, heartbeats, knex's own
// pool), and each logging its own stack trace, every second, buried the one fact an operator needs.
// Here it is said once, naming the store (never its password), then once more when it is back.
// Work meanwhile waits and is retried by its own schedule; nothing is dropped.
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { firstLine } from './knex-log.js';
import { withTimeout } from '../metrics/timeout.js';
import { QueryTimeoutError, withQueryTimeout } from './query-timeout.js';

// Node's socket errors, PostgreSQL's connection class (08…) and its shutdown / starting-up codes,
// SQL Server's, and a query left unanswered past store.queryTimeoutSeconds (a frozen connection,
// see query-timeout.ts): this store cannot be reached now, whatever the statement.
const CODES = new Set(['PONTE_QUERY_TIMEOUT', 'ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'EPIPE',
  '57P01', '57P02', '57P03', 'ESOCKET', 'ETIMEOUT']);
const MESSAGES = /Connection terminated|Connection ended unexpectedly|terminating connection due to administrator command|Client has encountered a connection error|Knex: Timeout acquiring a connection|timeout expired|connection timeout|did not answer within|Client was closed and is not queryable/i;

const CODE_IN_TEXT = new RegExp(`\\b(${[...CODES].filter((c) => c.startsWith('E')).join('|')})\\b`);

/** True when e (an error, or knex's pool message) says the store cannot be reached, as opposed to a statement it refused. */
export function isUnreachable(e: unknown): boolean {
  if (typeof e === 'string') return MESSAGES.test(e) || CODE_IN_TEXT.test(e);
  if (!(e instanceof Error)) return false;
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string' && (CODES.has(code) || code.startsWith('08'))) return true;
  if (e.name === 'KnexTimeoutError' || MESSAGES.test(e.message)) return true;
  return e.cause !== undefined && e.cause !== e && isUnreachable(e.cause);
}

/** The first value `pick` gives for e or one of its causes (five deep at most). */
function fromCauses<T>(e: unknown, pick: (c: Error) => T | undefined): T | undefined {
  for (let c = e, depth = 0; c instanceof Error && depth < 5; c = c.cause, depth++) {
    const v = pick(c);
    if (v !== undefined) return v;
  }
  return undefined;
}

/** Whether e (or its cause) is a statement cut at the query bound. */
function cutAtBound(e: unknown): boolean {
  return fromCauses(e, (c) => (c instanceof QueryTimeoutError ? true : undefined)) === true;
}

/** When e (or its cause) was raised, for the errors that say (QueryTimeoutError); otherwise now. */
function raisedAt(e: unknown): number {
  return fromCauses(e, (c) => {
    const at = (c as { raisedAt?: unknown }).raisedAt;
    return typeof at === 'number' ? at : undefined;
  }) ?? Date.now();
}

/** How long a store that answers takes to answer `select 1` on a new connection, at most: then it is up. */
export const CONFIRM_MS = 1_000;
/** A slow statement (cut at the bound while the store answers) is said at most this often. */
const SLOW_SAID_EVERY_MS = 60_000;

export class StoreOutage {
  private since: number | null = null;
  private timer: NodeJS.Timeout | undefined;
  /** When the store last answered again after an outage. */
  private backAt = 0;
  private knex: Knex | undefined;

  constructor(private readonly where: string, private readonly log: Logger, private readonly probeMs = 2_000) {}

  /** The store's knex, probed while it is away (set once the store is open). */
  probe(knex: Knex): void {
    this.knex = knex;
  }

  /** Whether the store is known to be away now. */
  get down(): boolean {
    return this.since !== null;
  }

  /**
   * True when e means the store cannot be reached: said (once per outage) here, so the caller logs
   * nothing of its own. False for any other error, which the caller reports as before.
   */
  report(e: unknown): boolean {
    if (!isUnreachable(e)) return false;
    if (this.since !== null) return true;
    // Raised during the outage that has ended, reported late by work that waited for the store
    // (a dispatcher pass ends once its outcome writes are in): not a new outage.
    if (raisedAt(e) < this.backAt) return true;
    // knex's pool discarding a connection closed by the query bound, maybe after the outage: the
    // bound reported that outage itself when it ran out (openStore's onTimeout).
    if (typeof e === 'string' && e.startsWith('Connection Error: QueryTimeoutError')) return true;
    this.since = Date.now();
    // A statement cut at store.queryTimeoutSeconds says only that ITS connection did not answer:
    // a long statement on a loaded store, or one connection frozen (a NAT dropping its flow), does
    // that with the store up. Asked at once on another connection, a store that answers is not
    // called unreachable (an operator would look for a network fault that is not there).
    if (cutAtBound(e) && this.knex) this.confirm(e, this.knex);
    else this.unreachable(e);
    return true;
  }

  private unreachable(e: unknown): void {
    this.log.error({ store: this.where, err: firstLine(e) },
      `store unreachable: ${this.where}: ${firstLine(e)}. Polls, sends and status reads wait and resume when it answers again; `
      + 'provider answers already received are kept and recorded then');
    this.watch();
  }

  /** Slow statements cut since the last said, and when one was last said. */
  private slow = { count: 0, saidAt: -Infinity };

  private confirm(e: unknown, knex: Knex): void {
    // `down` meanwhile, as the caller already waits.
    this.ping(knex, CONFIRM_MS).then(() => {
      if (this.closed) return;
      this.back();
      this.slow.count++;
      if (Date.now() - this.slow.saidAt < SLOW_SAID_EVERY_MS) return;
      this.log.warn({ store: this.where, err: firstLine(e), statements: this.slow.count },
        `a store statement was cut at its bound, but the store answers: ${firstLine(e)}. A slow statement (or one frozen connection), `
        + `not an outage; the work it carried is retried. If the store is merely slow, raise store.queryTimeoutSeconds${this.slow.count > 1 ? ` (${this.slow.count} statements since last said)` : ''}`);
      this.slow = { count: 0, saidAt: Date.now() };
    }, () => { if (!this.closed) this.unreachable(e); });
  }

  /**
   * `select 1` within `ms`: on a blackholed network its connect would hang for knex's acquire
   * timeout. Outside withoutQueryTimeout: the report may come from inside the purge or a migration
   * (knex's pool warns there of a connection the outage broke), and a probe inheriting their
   * exemption would hang on a frozen connection instead of failing within the bound.
   */
  private ping(knex: Knex, ms: number): Promise<unknown> {
    return withQueryTimeout(() => withTimeout(knex.raw('select 1'), ms, 'select 1'));
  }

  /** The store answers again. */
  private back(): void {
    this.since = null;
    this.backAt = Date.now();
  }

  private watch(): void {
    // The timer outside the exemption too: its callback runs in the flow that armed it.
    this.timer = withQueryTimeout(() => setTimeout(() => {
      const knex = this.knex;
      if (!knex) return;
      this.ping(knex, Math.max(this.probeMs, 3_000)).then(() => {
        const seconds = Math.round((Date.now() - this.since!) / 100) / 10;
        this.back();
        this.log.warn({ store: this.where, seconds }, `store reachable again after ${seconds} s: ${this.where}`);
      }, () => this.watch());
    }, this.probeMs));
    this.timer.unref();
  }

  private closed = false;

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }
}
