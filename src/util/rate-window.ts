// A client-side sliding-window limiter. Providers such as IO (APIM rate-limit-by-key) and
// WhatsApp count requests in a sliding window *as they arrive* and answer 429 above it; staying
// under the limit is cheaper than retrying. A request may arrive any time between its start and
// its answer, so each one holds its slot from its start until `windowMs + marginMs` after its
// answer (the caller calls the release function acquire() returns). Then at most `requests`
// arrivals fit in any window whatever the network and event-loop delays: for N+1 arrivals inside
// one window, all N+1 slots would be held at that window's end.
// Waiters are served strictly in arrival order (FIFO), so no caller starves.

export interface RateWindowOptions {
  requests: number;
  windowMs: number;
  /** Added to windowMs on our side. Default 0. */
  marginMs?: number;
}

interface Waiter {
  resolve: (release: () => void) => void;
  reject: (reason: unknown) => void;
  queuedAt: number;
  signal?: AbortSignal;
  onAbort?: () => void;
}

export class RateWindow {
  private requests: number;
  /** The configured limit: start times are kept for this many, so raising the limit again is exact. */
  private readonly capacity: number;
  private readonly spanMs: number;
  /** Per recent request, when its slot started to age: its answer time, or Infinity while in flight. Sorted. */
  private readonly starts: number[] = [];
  private readonly queue: Waiter[] = [];
  private pausedUntil = 0;
  private timer: NodeJS.Timeout | undefined;
  private waited = 0;

  constructor(opts: RateWindowOptions) {
    if (!Number.isInteger(opts.requests) || opts.requests < 1) {
      throw new Error(`RateWindow: requests must be a positive integer (got ${opts.requests})`);
    }
    if (!(opts.windowMs > 0)) throw new Error(`RateWindow: windowMs must be positive (got ${opts.windowMs})`);
    if ((opts.marginMs ?? 0) < 0) throw new Error(`RateWindow: marginMs must not be negative (got ${opts.marginMs})`);
    this.requests = opts.requests;
    this.capacity = opts.requests;
    this.spanMs = opts.windowMs + (opts.marginMs ?? 0);
  }

  /** Total time callers have spent waiting in acquire(), in ms (for metrics). */
  get waitedMs(): number {
    return this.waited;
  }

  /** Callers currently waiting. */
  get pending(): number {
    return this.queue.length;
  }

  /**
   * Resolves when a request may start, with the function to call once its answer (or error) is
   * in: the slot is held until then. Rejects if `signal` aborts first.
   */
  acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<() => void>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, queuedAt: Date.now(), signal };
      if (signal) {
        waiter.onAbort = () => {
          const i = this.queue.indexOf(waiter);
          if (i >= 0) this.queue.splice(i, 1);
          reject(signal.reason);
          this.schedule();
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.queue.push(waiter);
      this.schedule();
    });
  }

  /**
   * This process's share of the limit (several processes sharing one provider account each take
   * a part): at least 1, at most the configured limit.
   */
  setLimit(requests: number): void {
    this.requests = Math.max(1, Math.min(this.capacity, Math.floor(requests)));
    this.schedule();
  }

  /** The limit now in force (a share of the configured one). */
  get limit(): number {
    return this.requests;
  }

  /** The limit it was configured with. */
  get configuredLimit(): number {
    return this.capacity;
  }

  /** Nobody starts before `epochMs` (e.g. after a 429 with a retry-after). Never shortens a pause. */
  pauseUntil(epochMs: number): void {
    if (epochMs <= this.pausedUntil) return;
    this.pausedUntil = epochMs;
    this.schedule();
  }

  /** The earliest instant the next start is allowed. */
  private nextSlot(): number {
    const windowFree = this.starts.length < this.requests ? 0 : this.starts[this.starts.length - this.requests]! + this.spanMs;
    return Math.max(windowFree, this.pausedUntil);
  }

  /** Let through every waiter that may start now; arm one timer for the next. */
  private schedule(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    while (this.queue.length > 0) {
      const now = Date.now();
      const slot = this.nextSlot();
      // Infinity: every slot is held by a request in flight; the next release reschedules.
      if (slot === Infinity) return;
      if (slot > now) {
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.schedule();
        }, slot - now);
        return;
      }
      const waiter = this.queue.shift()!;
      this.starts.push(Infinity);
      if (this.starts.length > this.capacity) this.starts.shift();
      this.waited += now - waiter.queuedAt;
      if (waiter.signal && waiter.onAbort) waiter.signal.removeEventListener('abort', waiter.onAbort);
      let released = false;
      waiter.resolve(() => {
        if (released) return;
        released = true;
        this.answered();
      });
    }
  }

  /** A request's answer is in: its slot ages from now. */
  private answered(): void {
    const i = this.starts.indexOf(Infinity);
    if (i >= 0) {
      this.starts[i] = Date.now();
      this.starts.sort((a, b) => a - b);
    }
    this.schedule();
  }
}
