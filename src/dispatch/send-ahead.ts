// How many deliveries the dispatcher works beyond its request slots: `dispatcher.sendAhead` is the
// most, and within it the dispatcher takes as many as the latencies it measures call for.
// A delivery prepared ahead has its `sending` committed while the requests ahead of it are in
// flight, so a freed request slot does not wait for a store round trip. By Little's law, hiding a
// commit of C ms behind `concurrency` requests of S ms each takes concurrency × C / S prepared
// sends: many against a provider that answers at once (S close to C), one or two against IO (S of
// a hundred milliseconds and more, C of one or two). And while every request slot is busy, each
// of them is a `sending` whose request has not left: what a crash of the whole machine (with no
// send journal to read) would leave uncertain. So the number follows the need: a fixed one was
// either too few at 0 ms (PostgreSQL: 0.81 of the bare loop with 8, 1.01 with 64) or, at real
// latencies, that many more held uncertain after a machine crash, for nothing.

/** Weight of each new measurement in the moving averages. */
const WEIGHT = 0.05;
/**
 * Prepared sends per the Little's-law estimate: commits and requests vary, and a slot that frees
 * while the prepared sends are still committing waits for a round trip all the same.
 */
const MARGIN = 2;
/**
 * Before both latencies are measured: one, as few as helps at all. The averages start at the first
 * commit and the first answer, so a process's first wave waits one request at most; each more
 * prepared then would be one more a machine crash at start (a crash loop) could hold uncertain.
 */
const FIRST = 1;

export class SendAhead {
  private commitMs: number | undefined;
  private sendMs: number | undefined;

  /**
   * `most`: cfg.sendAhead; `slots`: cfg.concurrency, the requests in flight at most. `free`: a
   * prepared send costs nothing on a crash (onUncertain 'resend', which writes no `sending` before
   * its requests while the claim is young): all `most` are prepared.
   */
  constructor(readonly most: number, private readonly slots: number, private readonly free = false) {}

  /** A `sending` write took `ms` from the call to its commit. */
  committed(ms: number): void {
    this.commitMs = average(this.commitMs, ms);
  }

  /** A send request took `ms` from leaving to its answer (or failure). */
  sent(ms: number): void {
    this.sendMs = average(this.sendMs, ms);
  }

  /** Deliveries to work now beyond the request slots: 0 ≤ n ≤ most. */
  get now(): number {
    if (this.most === 0 || this.free) return this.most;
    if (this.commitMs === undefined || this.sendMs === undefined) return Math.min(this.most, FIRST);
    const need = Math.ceil((MARGIN * this.slots * this.commitMs) / Math.max(this.sendMs, 0.05));
    return Math.max(1, Math.min(this.most, need));
  }

  /** The averages behind `now` (metrics, tests). */
  get latencies(): { commitMs: number | undefined; sendMs: number | undefined } {
    return { commitMs: this.commitMs, sendMs: this.sendMs };
  }
}

function average(avg: number | undefined, x: number): number {
  return avg === undefined ? x : avg + WEIGHT * (x - avg);
}
