// boundQueries on a stand-in driver connection: what the bound does to a query's callback.
import { describe, expect, it } from 'vitest';
import { boundQueries } from '../../src/store/query-timeout.js';

/** A driver connection whose queries answer only when told to. */
function fakeConnection() {
  const pending: Array<(e: Error | null, r?: unknown) => void> = [];
  const conn = { query: (_sql: string, cb: (e: Error | null, r?: unknown) => void) => { pending.push(cb); }, stream: undefined };
  return { conn, answer: () => pending.shift()!(null, 'rows') };
}

function bound(ms: number) {
  const f = fakeConnection();
  boundQueries({ ms, setting: 'store.queryTimeoutSeconds', what: 'the store' })(f.conn, () => undefined);
  const query = () => new Promise((ok, ko) => (f.conn.query as (s: string, cb: (e: Error | null, r?: unknown) => void) => void)('select 1', (e, r) => (e ? ko(e) : ok(r))));
  return { ...f, query };
}

describe('boundQueries', () => {
  it('takes a bound longer than Node\'s longest timer as that timer, not as 1 ms', async () => {
    const { query, answer } = bound(365 * 86_400_000); // store.queryTimeoutSeconds: a year
    const result = query();
    const early = await Promise.race([result.then(() => 'answered', (e: unknown) => `failed: ${(e as Error).message}`), new Promise((r) => setTimeout(() => r('waiting'), 50))]);
    expect(early).toBe('waiting');
    answer();
    await expect(result).resolves.toBe('rows');
  });

  it('fails a query unanswered within its bound', async () => {
    const { query } = bound(20);
    await expect(query()).rejects.toThrow(/the store did not answer within 0 s \(store.queryTimeoutSeconds\)/);
  });
});
