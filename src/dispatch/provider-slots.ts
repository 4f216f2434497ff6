// Provider requests in flight, at most `size` (cfg.concurrency), however many deliveries are being
// worked. A send goes before any queued profile check or status poll: its delivery is already
// `sending` (durable), so until its request leaves it is pure *uncertain* exposure on a crash, and
// deliveries prepared ahead (sendAhead) only help if a prepared send takes the next free slot.
// (With one FIFO queue a prepared send waited behind checks for a whole turnover of the slots.)
// Requests that get a slot in one turn of the event loop leave together at the end of it: sent
// one by one as each answer came in, they cost 20–30 % more CPU each (0 ms endpoint, 2 cores:
// resend mode on SQLite 2,000–2,500 → 2,600–3,400 messages/s); in bursts each wakeup of either side serves
// many. In hold mode the group commit of `sending` had been making the bursts by chance.
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

  async run<T>(call: () => Promise<T>, kind: 'send' | 'other' = 'other'): Promise<T> {
    if (this.active < this.size) this.active++;
    // A slot freed later is handed straight to the waiter (active stays the same).
    else await new Promise<void>((resolve) => (kind === 'send' ? this.sends : this.others).push(resolve));
    try {
      await endOfTurn(); // leave with the others at the end of this turn (see above)
      return await call();
    } finally {
      const next = this.sends.shift() ?? this.others.shift();
      if (next) next();
      else this.active--;
    }
  }
}
