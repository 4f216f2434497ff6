// Provider requests in flight, at most `size` (cfg.concurrency), however many deliveries are being
// worked. A send goes before any queued profile check or status poll: its delivery is already
// `sending` (durable), so until its request leaves it is pure *uncertain* exposure on a crash, and
// deliveries prepared ahead (sendAhead) only help if a prepared send takes the next free slot.
// (With one FIFO queue a prepared send waited behind checks for a whole turnover of the slots.)
// Requests that get a slot in one turn of the event loop leave together at the end of it: sent
// one by one as each answer came in, they cost 20–30 % more CPU each (0 ms endpoint, 2 cores:
// resend mode on SQLite 2,000–2,500 → 2,600–3,400 messages/s); in bursts each wakeup of either side serves
// many. A send released by the group commit of its `sending` is already in such a burst (every
// send of that commit resumes in the same turn): when a slot is free it leaves at once, since the
// wait only delayed it (20 ms endpoint, PostgreSQL, nine paired runs: 1,110–1,231 → 1,152–1,249
// messages/s, about +3 %).
// A slot handed over as an answer comes in joins the burst only while answers come in bunches
// (on average `burstAt` or more handovers a turn): a provider answering at once, with the thread
// the bottleneck. When they come one or two a turn, as from a provider that takes its time, the
// wait for the end of the turn only delays each request (20 ms endpoint, SQLite: 0.93–0.95 of the
// bare loop with the wait, 0.99 with this rule; never waiting cost 3–7 % at 0 ms). A slot handed
// over from a failed call always waits (see run). Measured in docs/performance.md.
import { endOfTurn } from '../util/next-turn.js';

export interface SlotsOptions {
  /** Handovers per turn, on average, from which a handed-over slot waits for the end of the turn (default 4). */
  burstAt?: number;
}

/** Weight of the latest turn in the moving average of handovers per turn. */
const TURN_WEIGHT = 0.1;

export class ProviderSlots {
  private active = 0;
  /** Waiters, each told whether the call whose slot it gets failed. */
  private readonly sends: Array<(afterFailure: boolean) => void> = [];
  private readonly others: Array<(afterFailure: boolean) => void> = [];
  private readonly burstAt: number;
  private handoversThisTurn = 0;
  /** Handovers per turn that had any, as a moving average (starts as bunched: the first turns burst). */
  private perTurn: number;

  constructor(private readonly size: number, opts: SlotsOptions = {}) {
    if (!(size >= 1)) throw new Error(`provider slots: size must be at least 1 (got ${size})`);
    this.burstAt = opts.burstAt ?? 4;
    this.perTurn = this.burstAt;
  }

  /** Whether handed-over slots now wait for the end of the turn (answers come in bunches). */
  get bursting(): boolean {
    return this.perTurn >= this.burstAt;
  }

  private handedOver(): void {
    if (this.handoversThisTurn++ > 0) return;
    setImmediate(() => {
      this.perTurn += TURN_WEIGHT * (this.handoversThisTurn - this.perTurn);
      this.handoversThisTurn = 0;
    });
  }

  /** Requests running now and waiting for a slot (tests). */
  get counts(): { active: number; waiting: number } {
    return { active: this.active, waiting: this.sends.length + this.others.length };
  }

  /** `inBurst`: the caller resumed together with others (one group commit released them all). */
  async run<T>(call: () => Promise<T>, kind: 'send' | 'other' = 'other', inBurst = false): Promise<T> {
    let waited = false;
    let afterFailure = false;
    if (this.active < this.size) this.active++;
    else {
      // A slot freed later is handed straight to the waiter (active stays the same), as an answer
      // comes in: one by one, so it joins the end-of-turn burst below.
      waited = true;
      afterFailure = await new Promise<boolean>((resolve) => (kind === 'send' ? this.sends : this.others).push(resolve));
    }
    let failed = true;
    try {
      if (waited) {
        this.handedOver();
        // After a failed call always: its error may halt the channel, which its worker records
        // only after the slot is handed over, and this request checks for halts as it leaves.
        if (this.bursting || afterFailure) await endOfTurn(); // leave with the others at the end of this turn (see above)
      } else if (!inBurst) await endOfTurn();
      const result = await call();
      failed = false;
      return result;
    } finally {
      const next = this.sends.shift() ?? this.others.shift();
      if (next) next(failed);
      else this.active--;
    }
  }
}
