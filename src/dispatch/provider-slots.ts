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
import { endOfTurn } from '../util/next-turn.js';

export class ProviderSlots {
  private active = 0;
  private readonly sends: Array<() => void> = [];
  private readonly others: Array<() => void> = [];

  constructor(private readonly size: number) {
    if (!(size >= 1)) throw new Error(`provider slots: size must be at least 1 (got ${size})`);
  }

  /** Requests running now and waiting for a slot (tests). */
  get counts(): { active: number; waiting: number } {
    return { active: this.active, waiting: this.sends.length + this.others.length };
  }

  /** `inBurst`: the caller resumed together with others (one group commit released them all). */
  async run<T>(call: () => Promise<T>, kind: 'send' | 'other' = 'other', inBurst = false): Promise<T> {
    let waited = false;
    if (this.active < this.size) this.active++;
    else {
      // A slot freed later is handed straight to the waiter (active stays the same), as an answer
      // comes in: one by one, so it joins the end-of-turn burst below.
      waited = true;
      await new Promise<void>((resolve) => (kind === 'send' ? this.sends : this.others).push(resolve));
    }
    try {
      if (waited || !inBurst) await endOfTurn(); // leave with the others at the end of this turn (see above)
      return await call();
    } finally {
      const next = this.sends.shift() ?? this.others.shift();
      if (next) next();
      else this.active--;
    }
  }
}
