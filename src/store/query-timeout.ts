// A bound on every query's answer, for connections whose packets can vanish (a firewall or NAT
// dropping state, a paused VM, a pulled cable): nothing is answered and nothing is closed, and a
// query waits for TCP's retransmission timeout (~15 min on Linux), holding its pooled connection
// and whatever waits on it. node-postgres has `query_timeout`, but it only rejects the promise:
// the query stays the connection's active one, the connection goes back to knex's pool (knex's
// pg dialect validates nothing but an 'end'/'error' seen), and the next query on it queues behind
// the frozen one. mysql2 and knex have no connection-wide equivalent. So the bound is ours, on
// the raw driver connection (where transactions run too: knex's transaction client does not
// inherit instance patches of knex's own client): when it runs out the caller gets a clear
// error, and the socket is destroyed at once, so the connection is never reused half-way through
// a query, queries queued behind it (a transaction's ROLLBACK) fail at once, and knex's pool
// discards it. A late answer has nowhere to go.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Socket } from 'node:net';

/** A query that got no answer within its bound; its connection was closed. */
export class QueryTimeoutError extends Error {
  readonly code = 'PONTE_QUERY_TIMEOUT';
  /** Epoch ms: an outage reported late, after the store is back, is not a new one (StoreOutage). */
  readonly raisedAt = Date.now();
  constructor(readonly seconds: number, readonly setting: string, what: string, outcome = 'the query was abandoned and its connection closed') {
    super(`${what} did not answer within ${seconds} s (${setting}); ${outcome}`);
    this.name = 'QueryTimeoutError';
  }
}

const unbounded = new AsyncLocalStorage<true>();
/** Exempt flows running now: when the last one ends, the storage is disabled (see below). */
let exemptFlows = 0;

/**
 * Runs `work` with no bound on its queries: migrations and the retention purge may legitimately
 * run statements for minutes. (Where the bound has a `working` check, as PostgreSQL's store does,
 * such a statement is still cut once the server no longer works on it: a frozen connection.)
 * Scoped to this async flow only: the dispatcher's and connectors' queries running meanwhile on
 * the same pool keep their bound.
 */
export function withoutQueryTimeout<T>(work: () => PromiseLike<T>): Promise<T> {
  exemptFlows++;
  // Awaited inside: a knex builder is lazy, its query starts when then() is called.
  return unbounded.run(true, async () => await work()).finally(() => {
    // On Node 20 a storage once run keeps async hooks on every promise of the process until it is
    // disabled: the migrations at start had them cost every delivery of the daemon's life (2–3 µs
    // of CPU per message in paired dispatcher runs). Disabled, getStore() is undefined everywhere
    // (bounded, the default) until the next run() turns it on again.
    if (--exemptFlows === 0) unbounded.disable();
  });
}

/** Whether queries started here are exempt (inside withoutQueryTimeout). */
export function queryTimeoutExempt(): boolean {
  return unbounded.getStore() === true;
}

/**
 * Runs `start` outside any exemption: for work that outlives the exempt flow it was started from
 * (a timer, a watcher), whose queries must keep their bound.
 */
export function withQueryTimeout<T>(start: () => T): T {
  return unbounded.exit(start);
}

export interface QueryBound {
  ms: number;
  /** The setting that chose ms, for the error ("store.queryTimeoutSeconds"). */
  setting: string;
  /** Who did not answer ("the store", "the back-office database"). */
  what: string;
  /** Told as the bound runs out, before the caller is (the store's outage, said at once). */
  onTimeout?: (e: QueryTimeoutError) => void;
  /**
   * For statements exempt from the bound (withoutQueryTimeout: migrations, the purge): asked every
   * `ms` while one runs, whether the server is still working on it. A migration may rightly run
   * for an hour, but a frozen connection must not hold it for TCP's ~15 min: "no" twice in a row
   * (or no answer) and the connection is cut as the bound cuts any other. Absent: never cut.
   */
  working?: (conn: unknown) => Promise<boolean>;
}

/** After a "no" from `working`, asked again this soon (a statement that just ended has its answer on the way). */
const RECHECK_MS = 1_000;

interface RawConnection {
  query: (...args: unknown[]) => unknown;
  /** mysql2 */
  stream?: Socket;
  /** node-postgres: its Connection, holding the socket */
  connection?: { stream?: Socket };
  __knex__disposed?: unknown;
}

/**
 * Node's longest timer (~24.8 days): a longer delay is taken as 1 ms, which made a bound meant as
 * "practically none" (store.queryTimeoutSeconds: 31536000) fail every query at once.
 */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A knex pool `afterCreate` bounding every query on each new pg or mysql2 connection (both take
 * a node-style callback last, which is how knex calls them).
 */
export function boundQueries(bound: QueryBound): (conn: unknown, done: (e: Error | null, c: unknown) => void) => void {
  return (raw, done) => {
    const conn = raw as RawConnection;
    const query = conn.query.bind(conn);
    /**
     * Starts the bound of one query; `fail` gets the error once the connection is closed. `exempt`:
     * cut only once the server says (twice) it no longer works on the statement, or cannot say.
     */
    const arm = (fail: (e: QueryTimeoutError) => void, exempt = false): { done(): boolean } => {
      let over = false; // answered, or cut
      let timer: NodeJS.Timeout | undefined;
      const cut = (): void => {
        over = true;
        const err = new QueryTimeoutError(Math.round(bound.ms / 100) / 10, bound.setting, bound.what, exempt
          ? 'the statement is exempt from that bound (a migration or the purge), but the server no longer worked on it or could not say: its connection was closed'
          : undefined);
        // Before the caller hears: knex releases the connection to its pool as the query fails, and
        // the pool must see it disposed (validate) rather than hand it to the next query.
        // Kept: knex's pg 'end' listener would write its own "Connection ended unexpectedly" over
        // it, and the pool logs this one when it discards the connection.
        Object.defineProperty(conn, '__knex__disposed', { get: () => err, set: () => undefined, configurable: true });
        bound.onTimeout?.(err);
        // The caller hears once the socket has closed: by then the driver has failed the queries
        // queued behind (and knows itself ended), so a ROLLBACK sent next fails at once instead
        // of queueing behind the frozen statement.
        const socket = conn.stream ?? conn.connection?.stream;
        if (!socket || socket.destroyed) return void setImmediate(() => fail(err));
        socket.once('close', () => fail(err));
        socket.destroy();
      };
      const wait = (ms: number, noes: number): void => {
        timer = setTimeout(() => {
          if (!exempt) return cut();
          // Outside the exemption: the question itself is bound, and a frozen store fails it.
          void withQueryTimeout(() => bound.working!(conn)).catch(() => false).then((yes) => {
            if (over) return;
            if (yes) wait(bound.ms, 0);
            else if (noes >= 1) cut();
            else wait(Math.min(RECHECK_MS, bound.ms), noes + 1);
          });
        }, Math.min(ms, MAX_TIMER_MS));
      };
      wait(bound.ms, 0);
      // true: the query answered in time (its answer is the caller's); false: the bound ran out first.
      return { done: () => { if (over) return false; over = true; clearTimeout(timer); return true; } };
    };
    conn.query = (...args: unknown[]) => {
      const exempt = queryTimeoutExempt();
      if (!(bound.ms > 0) || (exempt && !bound.working)) return query(...args);
      const callback = args[args.length - 1];
      if (typeof callback !== 'function') {
        // The promise form (node-postgres without a callback): Ponte's named prepared statements
        // (prepared.ts), the dispatcher's claims and group commits among them. Unbound, a frozen
        // connection held them, and their pooled connections, for ever.
        const answer = query(...args) as unknown;
        if (!(answer instanceof Promise)) return answer;
        return new Promise((resolve, reject) => {
          const t = arm(reject, exempt);
          answer.then((r) => { if (t.done()) resolve(r); }, (e: unknown) => { if (t.done()) reject(e); });
        });
      }
      const t = arm((e) => (callback as (e: Error) => void)(e), exempt);
      args[args.length - 1] = (...result: unknown[]) => {
        if (!t.done()) return; // the connection was closed under the query: its error is ours, said above
        (callback as (...r: unknown[]) => void)(...result);
      };
      return query(...args);
    };
    done(null, conn);
  };
}
