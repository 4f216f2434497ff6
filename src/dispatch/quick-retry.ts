// A few quick in-process retries for transient errors (a 500, a 429 with a short Retry-After, a
// refused connection) before the persistent schedule takes over. Nothing else is retried here:
// permanent and uncertain errors go straight back to the dispatcher.
import pRetry, { AbortError } from 'p-retry';
import { ChannelError } from '../channels/channel.js';

export interface QuickRetryOptions {
  retries: number;
  /** Called for every failed try (the attempts log). */
  onFailedTry?: (error: unknown) => void;
  signal?: AbortSignal;
}

const MAX_QUICK_WAIT_MS = 3000;

export async function quickRetry<T>(fn: () => Promise<T>, opts: QuickRetryOptions): Promise<T> {
  return pRetry(async () => {
    try {
      return await fn();
    } catch (e) {
      opts.onFailedTry?.(e);
      const quick = e instanceof ChannelError && e.errorClass === 'transient' && (e.detail.retryAfterMs ?? 0) <= MAX_QUICK_WAIT_MS;
      if (!quick) throw new AbortError(e instanceof Error ? e : new Error(String(e)));
      throw e;
    }
  }, {
    retries: opts.retries,
    minTimeout: 200,
    factor: 3,
    randomize: true,
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
}
