// Quick in-process retries: only transient errors with a short wait, at most `retries` times,
// and the error that ends it is the channel's own (the dispatcher classifies it).
import { describe, expect, it } from 'vitest';
import { quickRetry } from '../../src/dispatch/quick-retry.js';
import { ChannelError } from '../../src/channels/channel.js';

function failing(errors: ChannelError[], result = 'ok') {
  let tries = 0;
  const retries: boolean[] = [];
  return { fn: async (retry: boolean) => { retries.push(retry); const e = errors[tries++]; if (e) throw e; return result; }, tries: () => tries, retries };
}

describe('quickRetry', () => {
  it('returns the first success without reporting a failed try', async () => {
    const failed: unknown[] = [];
    const f = failing([]);
    await expect(quickRetry(f.fn, { retries: 2, onFailedTry: (e) => failed.push(e) })).resolves.toBe('ok');
    expect(f.tries()).toBe(1);
    expect(failed).toEqual([]);
  });

  it('retries transient errors up to `retries` times, reporting each failed try', async () => {
    const failed: unknown[] = [];
    const t = () => new ChannelError('io: 500', 'transient', { status: 500 });
    const ok = failing([t(), t()]);
    await expect(quickRetry(ok.fn, { retries: 2, onFailedTry: (e) => failed.push(e) })).resolves.toBe('ok');
    expect(ok.tries()).toBe(3);
    expect(ok.retries).toEqual([false, true, true]); // a retry comes alone: it must not skip the send burst
    expect(failed).toHaveLength(2);
    const exhausted = failing([t(), t(), t(), t()]);
    const err = await quickRetry(exhausted.fn, { retries: 2 }).catch((e: unknown) => e);
    expect(exhausted.tries()).toBe(3);
    expect(err).toBeInstanceOf(ChannelError);
  });

  it('never retries permanent or uncertain errors, nor a 429 asking for a long wait', async () => {
    for (const e of [
      new ChannelError('io: 400', 'permanent', { status: 400 }),
      new ChannelError('io: timed out after it was sent', 'uncertain'),
      new ChannelError('io: 429', 'transient', { status: 429, retryAfterMs: 10_000 }),
    ]) {
      const f = failing([e, e]);
      await expect(quickRetry(f.fn, { retries: 2 })).rejects.toBe(e);
      expect(f.tries()).toBe(1);
    }
  });
});
