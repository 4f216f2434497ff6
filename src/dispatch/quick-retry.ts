// A few quick in-process retries for transient errors (a 500, a 429 with a short Retry-After, a
// refused connection) before the persistent schedule takes over. Nothing else is retried here:
// permanent and uncertain errors go straight back to the dispatcher.
import pRetry, { AbortError } from 'p-retry';
import { setTimeout as sleep } from 'node:timers/promises';
import { ChannelError } from '../channels/channel.js';

export interface QuickRetryOptions {
  retries: number;
  /** Called for every failed try (the attempts log). */
  onFailedTry?: (error: unknown) => void;
  signal?: AbortSignal;
}

const MAX_QUICK_WAIT_MS = 3000;
const MIN_TIMEOUT_MS = 200;
const FACTOR = 3;

function isQuick(e: unknown): boolean {
  return e instanceof ChannelError && e.errorClass === 'transient' && (e.detail.retryAfterMs ?? 0) <= MAX_QUICK_WAIT_MS;
}

/** `fn` learns whether its try is a retry (one that comes alone, after a delay). */
export async function quickRetry<T>(fn: (retry: boolean) => Promise<T>, opts: QuickRetryOptions): Promise<T> {
  const tryOnce = (retry: boolean) => fn(retry).catch((e: unknown) => {
    opts.onFailedTry?.(e);
    throw e;
  });
  // The first try outside p-retry: it is the one nearly every call ends with, and the dispatcher
  // makes thousands a second.
  try {
    return await fn(false);
  } catch (e) {
    opts.onFailedTry?.(e);
    if (opts.retries === 0 || !isQuick(e)) throw e;
  }
  // What p-retry would have waited before its first retry (randomize: ×1..2).
  await sleep(MIN_TIMEOUT_MS * (1 + Math.random()), undefined, opts.signal ? { signal: opts.signal } : {});
  return pRetry(() => tryOnce(true).catch((e: unknown) => {
    throw isQuick(e) ? e : new AbortError(e instanceof Error ? e : new Error(String(e)));
  }), {
    retries: opts.retries - 1,
    minTimeout: MIN_TIMEOUT_MS * FACTOR,
    factor: FACTOR,
    randomize: true,
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
}
