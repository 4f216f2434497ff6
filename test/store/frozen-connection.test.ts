// A store connection that freezes mid-query (a firewall or NAT dropping its state, a paused VM:
// packets vanish, nothing is answered, nothing is closed), through a TCP proxy in front of the
// real PostgreSQL: the query fails within store.queryTimeoutSeconds instead of TCP's ~15 min (for
// ever here: the proxy's kernel acknowledges every byte), its connection is closed and never
// reused, a transaction cut half-way leaves nothing, and the store answers again on a new
// connection once the path is back. Migrations and the purge are not bound.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { availableDialects, PG_URL, scratchDb, type ScratchDb } from '../helpers/databases.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { backendWorking, openStore, type Store } from '../../src/store/db.js';
import { isUnreachable, StoreOutage } from '../../src/store/outage.js';
import { QueryTimeoutError, withoutQueryTimeout } from '../../src/store/query-timeout.js';
import { pgRows } from '../../src/store/prepared.js';

const { run, skipped } = await availableDialects(['postgres']);
if (skipped.length) console.warn(`[frozen-connection] skipped: ${skipped.join('; ')}`);

const TIMEOUT_S = 1;

let scratch: ScratchDb;
let proxy: TcpProxy;
let store: Store;

async function backendPid(): Promise<number> {
  return Number(((await store.knex.raw('select pg_backend_pid() as pid')) as { rows: Array<{ pid: number }> }).rows[0]!.pid);
}

/** Waits (at most 10 s) until `n` lines match. */
async function said(lines: string[], re: RegExp, n = 1): Promise<void> {
  const until = Date.now() + 10_000;
  while (lines.filter((l) => re.test(l)).length < n && Date.now() < until) await new Promise((ok) => setTimeout(ok, 20));
  expect(lines.filter((l) => re.test(l))).toHaveLength(n);
}

/** How long `work` took to fail, and with what. */
async function failure(work: Promise<unknown>): Promise<{ ms: number; error: unknown }> {
  const t0 = Date.now();
  try {
    await work;
  } catch (error) {
    return { ms: Date.now() - t0, error };
  }
  throw new Error('expected a failure');
}

describe.runIf(run.includes('postgres'))('a frozen PostgreSQL store connection', () => {
  beforeEach(async () => {
    scratch = await scratchDb('postgres');
    await scratch.knex.schema.createTable('t', (t) => t.integer('id'));
    const pg = new URL(PG_URL);
    proxy = await startTcpProxy({ host: pg.hostname, port: Number(pg.port || 5432) });
    store = openStore({ client: 'pg', url: proxy.via(scratch.url), queryTimeoutSeconds: TIMEOUT_S, where: 'PostgreSQL (test)' }, { log: pino({ level: 'silent' }) });
  });
  afterEach(async () => {
    await proxy.restore();
    await store.close();
    await proxy.close();
    await scratch.destroy();
  });

  it('fails the query within the bound, discards the connection, and works again on a new one after restore', async () => {
    const before = await backendPid();
    await proxy.cut('freeze');
    const { ms, error } = await failure(store.knex.raw('select 1'));
    expect(error).toBeInstanceOf(QueryTimeoutError);
    expect((error as Error).message).toMatch(/the store did not answer within 1 s \(store\.queryTimeoutSeconds\); the query was abandoned and its connection closed$/);
    expect(ms).toBeGreaterThanOrEqual(TIMEOUT_S * 1000 - 50);
    expect(ms).toBeLessThan(TIMEOUT_S * 1000 + 1_000);
    // Said once as an outage, not as a failed statement.
    expect(isUnreachable(error)).toBe(true);
    expect(store.outage!.report(error)).toBe(true);

    await proxy.restore();
    // A new connection: the frozen one, whose late answer may still be on its way, is gone.
    expect(await backendPid()).not.toBe(before);
  });

  it('bounds Ponte\'s prepared statements too (the dispatcher\'s claims and group commits: the driver\'s promise form)', async () => {
    await pgRows(store.knex, 'select 1 as one', []); // a pooled connection, prepared once
    await proxy.cut('freeze');
    const { ms, error } = await failure(pgRows(store.knex, 'select 1 as one', []));
    expect(error).toBeInstanceOf(QueryTimeoutError);
    expect(ms).toBeGreaterThanOrEqual(TIMEOUT_S * 1000 - 50);
    expect(ms).toBeLessThan(TIMEOUT_S * 1000 + 1_000);
    await proxy.restore();
    expect(await pgRows<{ one: number }>(store.knex, 'select 1 as one', [])).toEqual([{ one: 1 }]);
  });

  it('a transaction frozen half-way fails at once, after the bound, and leaves nothing', async () => {
    const trx = await store.knex.transaction();
    await trx('t').insert({ id: 1 });
    await proxy.cut('freeze');
    const { ms, error } = await failure(trx('t').insert({ id: 2 }));
    expect(error).toBeInstanceOf(QueryTimeoutError);
    // Its ROLLBACK is not queued behind the frozen statement for another bound: the socket is closed.
    const t0 = Date.now();
    await trx.rollback();
    expect(isUnreachable((await failure(trx.executionPromise)).error)).toBe(true);
    expect(ms + Date.now() - t0).toBeLessThan(TIMEOUT_S * 1000 + 1_000);

    await proxy.restore();
    // The server learns of the closed connection once the path is back, and rolls back.
    const until = Date.now() + 5_000;
    let rows = -1;
    while (Date.now() < until && rows !== 0) rows = Number((await store.knex('t').count({ n: '*' }))[0]!.n);
    expect(rows).toBe(0);
    expect(Number((await store.knex('t').count({ n: '*' }))[0]!.n)).toBe(0);
  });

  it('closing the store while a connection is frozen does not hang', async () => {
    await backendPid();
    await proxy.cut('freeze');
    const pending = failure(store.knex.raw('select 1'));
    await new Promise((ok) => setTimeout(ok, 100)); // in flight (an idle connection's goodbye waits tarn's 5 s destroy timeout)
    const t0 = Date.now();
    await store.close();
    expect(Date.now() - t0).toBeLessThan(TIMEOUT_S * 1000 + 1_000);
    expect((await pending).error).toBeInstanceOf(QueryTimeoutError);
    store = openStore({ client: 'pg', url: proxy.via(scratch.url), queryTimeoutSeconds: TIMEOUT_S }); // for afterEach
  });

  it('said once per outage: an error raised during one that ended, reported late, is not a new one', async () => {
    const lines: string[] = [];
    const log = pino(new Writable({ write(chunk, _enc, done) { lines.push(JSON.parse(String(chunk)).msg); done(); } }));
    const outage = new StoreOutage('PostgreSQL (test)', log, 200);
    outage.probe(store.knex);
    await backendPid();
    await proxy.cut('freeze');
    const during = (await failure(store.knex.raw('select 1'))).error;
    expect(outage.report(during)).toBe(true);
    // Said once another connection cannot answer either (a cut alone may be one slow statement).
    await said(lines, /^store unreachable/);
    await proxy.restore();
    const until = Date.now() + 10_000;
    while (outage.down && Date.now() < until) await new Promise((ok) => setTimeout(ok, 50));
    expect(outage.down).toBe(false);
    // A dispatcher pass that waited for its outcome writes reports its error only now.
    expect(outage.report(during)).toBe(true);
    // knex's pool discarding the dead connection: no outage either.
    expect(outage.report(`Connection Error: ${String(during)}`)).toBe(true);
    expect(outage.down).toBe(false);
    // A new freeze is a new outage.
    await proxy.cut('freeze');
    expect(outage.report((await failure(store.knex.raw('select 1'))).error)).toBe(true);
    await said(lines, /^store unreachable/, 2);
    outage.close();
    expect(lines.filter((l) => /^store (unreachable|reachable again)/.test(l)).map((l) => l.replace(/ after [\d.]+ s/, '').split(':')[0]))
      .toEqual(['store unreachable', 'store reachable again', 'store unreachable']);
  });

  it('a statement cut at the bound while the store answers is a slow statement, said once a minute, not an outage', async () => {
    const lines: string[] = [];
    const log = pino(new Writable({ write(chunk, _enc, done) { lines.push(JSON.parse(String(chunk)).msg); done(); } }));
    const outage = new StoreOutage('PostgreSQL (test)', log, 200);
    outage.probe(store.knex);
    try {
      for (let i = 0; i < 2; i++) {
        const cut = (await failure(store.knex.raw('select pg_sleep(1.6)'))).error;
        expect(cut).toBeInstanceOf(QueryTimeoutError);
        expect(outage.report(cut)).toBe(true);
        const until = Date.now() + 5_000;
        while (outage.down && Date.now() < until) await new Promise((ok) => setTimeout(ok, 20));
        expect(outage.down).toBe(false);
      }
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^a store statement was cut at its bound, but the store answers: .*the store did not answer within 1 s \(store\.queryTimeoutSeconds\).*not an outage/);
    } finally {
      outage.close();
    }
  });

  it('a statement exempt from the bound (migrations, purge) is cut once the server cannot say it still works on it', async () => {
    await backendPid();
    await proxy.cut('freeze');
    // The question goes to a new connection, through the same frozen path: no answer twice.
    const { ms, error } = await failure(withoutQueryTimeout(() => store.knex.raw('select 1')));
    expect(error).toBeInstanceOf(QueryTimeoutError);
    expect(String(error)).toMatch(/exempt from that bound .*no longer worked on it or could not say/);
    expect(ms).toBeGreaterThanOrEqual(TIMEOUT_S * 1000 * 2);
    expect(ms).toBeLessThan(TIMEOUT_S * 1000 * 6);
    await proxy.restore();
    expect(await store.knex.raw('select 1')).toBeDefined();
  });

  it('the server says whether it still works on a connection\'s statement: active, not once answered', async () => {
    const conn = await store.knex.client.acquireConnection() as { query(sql: string): Promise<unknown> };
    try {
      const running = conn.query('select pg_sleep(0.8)');
      await new Promise((ok) => setTimeout(ok, 300));
      expect(await backendWorking(store.knex, conn, 2_000)).toBe(true);
      await running;
      expect(await backendWorking(store.knex, conn, 2_000)).toBe(false);
    } finally {
      await store.knex.client.releaseConnection(conn);
    }
  });

  it('a long statement is cut at the bound, but not inside withoutQueryTimeout (migrations, purge)', async () => {
    const slow = 'select pg_sleep(2.6)'; // more than two bounds: asked twice whether it still runs
    expect((await failure(store.knex.raw(slow))).error).toBeInstanceOf(QueryTimeoutError);
    await expect(withoutQueryTimeout(() => store.knex.raw(slow))).resolves.toBeDefined();
    // Only that flow: a query running meanwhile keeps its bound.
    const [unbounded, bounded] = await Promise.allSettled([withoutQueryTimeout(() => store.knex.raw(slow)), store.knex.raw(slow)]);
    expect(unbounded.status).toBe('fulfilled');
    expect(bounded.status === 'rejected' && bounded.reason).toBeInstanceOf(QueryTimeoutError);
  });
});
