// Meta's pair rate limit: about one message per 6 s to the same user, else 131056 (whatsapp.md
// §4). Sends to one recipient are spaced here, in memory. A send that would have to wait long is
// refused with the time to wait, so the dispatcher reschedules it and serves other recipients
// meanwhile instead of holding a worker.

export type PairClaim =
  /**
   * Send after waiting waitMs (0 or a short pause); the slot is taken. Call started() when the
   * request really starts (a rate window may have delayed it), release() if nothing was sent.
   */
  | { ok: true; waitMs: number; started: (at?: number) => void; release: () => void }
  /** Too early: try this recipient again in retryAfterMs. */
  | { ok: false; retryAfterMs: number };

// Entries are pruned once the map is this large (only those whose pause is over).
const PRUNE_ABOVE = 10_000;

export class PairPacer {
  /** Earliest next start per recipient, epoch ms. */
  private readonly nextAt = new Map<string, number>();

  constructor(
    private readonly spacingMs: number,
    /** The longest pause taken in place; beyond it the send is refused. */
    private readonly maxWaitMs = 250,
  ) {
    if (!(spacingMs >= 0)) throw new Error(`whatsapp: pairSpacingMs must not be negative (got ${spacingMs})`);
  }

  /** Takes the recipient's next slot if it is near enough. */
  claim(recipient: string, now = Date.now()): PairClaim {
    const previous = this.nextAt.get(recipient);
    const waitMs = Math.max(0, (previous ?? 0) - now);
    if (waitMs > this.maxWaitMs) return { ok: false, retryAfterMs: waitMs };
    let mine = now + waitMs + this.spacingMs;
    this.nextAt.set(recipient, mine);
    this.prune(now);
    return {
      ok: true,
      waitMs,
      started: (at = Date.now()) => {
        if (at + this.spacingMs <= mine) return;
        mine = at + this.spacingMs;
        this.hold(recipient, mine);
      },
      release: () => {
        // Only if no later claim or hold replaced ours.
        if (this.nextAt.get(recipient) !== mine) return;
        if (previous === undefined) this.nextAt.delete(recipient);
        else this.nextAt.set(recipient, previous);
      },
    };
  }

  /** No send to `recipient` before `until` (after Meta answered 131056). Never shortens a hold. */
  hold(recipient: string, until: number): void {
    if (until > (this.nextAt.get(recipient) ?? 0)) this.nextAt.set(recipient, until);
  }

  private prune(now: number): void {
    if (this.nextAt.size <= PRUNE_ABOVE) return;
    for (const [recipient, at] of this.nextAt) if (at <= now) this.nextAt.delete(recipient);
  }
}
