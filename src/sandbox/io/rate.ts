// IO's APIM policy: rate-limit-by-key, 150 calls per 5 s, keyed on the APIM user (the owner
// account), so every service of one owner shares the budget and every operation counts.
// A request answered 429 is not counted (it never reached the backend).

export interface RateLimit {
  requests: number;
  windowMs: number;
}

export interface OwnerStats {
  /** Requests let through (not answered with a real 429). */
  accepted: number;
  /** The most requests let through within any sliding window of windowMs: the judge's number. */
  maxInAnyWindow: number;
  /** Real 429s: the limit was exceeded. */
  real429: number;
  /** Requests that got an injected fault (any kind). */
  injected: number;
}

export class OwnerRateLimiter {
  private readonly recent = new Map<string, number[]>();
  private readonly stats = new Map<string, OwnerStats>();

  constructor(private readonly limit: RateLimit) {}

  /** Counts the request and returns 0 if it may proceed, else the ms until a slot frees. */
  admit(owner: string, now: number): number {
    const stats = this.statsOf(owner);
    const since = now - this.limit.windowMs;
    const times = (this.recent.get(owner) ?? []).filter((t) => t > since);
    this.recent.set(owner, times);
    if (times.length >= this.limit.requests) {
      stats.real429++;
      // The oldest request in the window leaves it at oldest + windowMs.
      return Math.max(1, times[times.length - this.limit.requests]! + this.limit.windowMs - now);
    }
    times.push(now);
    stats.accepted++;
    // Times only grow, so the window ending now is the fullest one containing this request.
    stats.maxInAnyWindow = Math.max(stats.maxInAnyWindow, times.length);
    return 0;
  }

  countInjected(owner: string): void {
    this.statsOf(owner).injected++;
  }

  snapshot(): Record<string, OwnerStats> {
    return Object.fromEntries([...this.stats].map(([owner, s]) => [owner, { ...s }]));
  }

  private statsOf(owner: string): OwnerStats {
    let s = this.stats.get(owner);
    if (!s) this.stats.set(owner, (s = { accepted: 0, maxInAnyWindow: 0, real429: 0, injected: 0 }));
    return s;
  }
}
