// When to try again after a transient error: exponential, capped, with jitter so that a burst of
// failures does not come back as a burst; never earlier than the provider asked (Retry-After).
export interface BackoffConfig {
  baseSeconds: number;
  maxSeconds: number;
}

export function retryDelayMs(attempt: number, cfg: BackoffConfig, retryAfterMs = 0, random: () => number = Math.random): number {
  const exp = Math.min(cfg.maxSeconds, cfg.baseSeconds * 2 ** Math.max(0, attempt - 1)) * 1000;
  const jittered = exp / 2 + random() * (exp / 2);
  return Math.max(Math.round(jittered), retryAfterMs);
}

/** Delay before the n-th status poll (0-based); the last configured delay repeats. */
export function statusPollDelayMs(polls: number, schedule: number[]): number {
  const s = schedule[Math.min(polls, schedule.length - 1)] ?? 60;
  return s * 1000;
}
