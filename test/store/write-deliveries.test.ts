// Group commit of delivery state changes, on every store dialect: many writes become few
// statements, and each write still applies only under its own claim and expected state.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { availableDialects } from '../helpers/databases.js';
import { testStore, type TestStore } from '../helpers/store.js';
import { commitBatch, type NewEvent } from '../../src/store/commit-batch.js';
import { claimDeliveries } from '../../src/store/claim-deliveries.js';
import { DeliveryWriter, WRITE_SQL } from '../../src/store/write-deliveries.js';
import { LostLeaseError } from '../../src/store/update-delivery.js';
import { AttemptLog } from '../../src/store/attempts.js';
import { storeFromKnex } from '../../src/store/db.js';
import knexFactory from 'knex';

const { run, skipped } = await availableDialects(['sqlite', 'postgres']);
if (skipped.length) console.warn(`[write-deliveries] skipped: ${skipped.join('; ')}`);

const T0 = Date.UTC(2026, 11, 3, 9, 0, 0);

function ev(key: string): NewEvent {
  return {
    key, type: 'appointment.reminder', fiscalCode: 'RSSMRA80A01H501U', data: {},
    route: { mode: 'first', steps: [{ channel: 'appio', options: {} }] },
    deliveries: [{ channel: 'appio', options: {}, routeIndex: 0, address: null }],
  };
}

describe.each(run)('delivery writer on %s', (dialect) => {
  let store: TestStore;
  beforeEach(async () => { store = await testStore(dialect); });
  afterEach(async () => { await store.close(); });

  async function claimed(n: number) {
    await commitBatch(store.knex, { instanceId: 'i', events: Array.from({ length: n }, (_, i) => ev(`k${i}`)), cancellations: [], rowErrors: [], now: T0 });
    return claimDeliveries(store, { limit: n, leaseMs: 60_000, now: T0 });
  }

  it('commits 120 concurrent writes in a few group commits, each row as its own caller asked', async () => {
    const { token, items } = await claimed(120);
    const writer = new DeliveryWriter(store);
    await Promise.all(items.map((it, i) => writer.write(it.delivery.id, token, 'pending', { state: 'sending', attempts: i + 1, keepLease: true }, T0 + 1)));
    expect(writer.stats.rows).toBe(120);
    expect(writer.stats.commits).toBeLessThanOrEqual(3);
    await Promise.all(items.map((it, i) => writer.write(it.delivery.id, token, 'sending', { state: 'accepted', provider_id: `m${i}`, sent_at: T0 + 2, next_attempt_at: T0 + 5000 }, T0 + 2)));
    const rows = await store.knex('deliveries').select('id', 'state', 'attempts', 'provider_id', 'lease_token', 'updated_at').orderBy('id');
    expect(rows).toHaveLength(120);
    rows.forEach((r, i) => {
      expect(r).toMatchObject({ state: 'accepted', attempts: i + 1, provider_id: `m${i}`, lease_token: null });
      expect(Number(r.updated_at)).toBe(T0 + 2);
    });
  });

  it('refuses, row by row, a write under a lost claim or from the wrong state; the others apply', async () => {
    const { token, items } = await claimed(3);
    const [a, b, c] = items.map((i) => i.delivery.id) as [number, number, number];
    const writer = new DeliveryWriter(store);
    const results = await Promise.allSettled([
      writer.write(a, token, 'pending', { state: 'sending', keepLease: true }, T0 + 1),
      writer.write(b, 'someone-else', 'pending', { state: 'sending', keepLease: true }, T0 + 1),
      writer.write(c, token, 'accepted', { state: 'processed' }, T0 + 1),
    ]);
    expect(results[0].status).toBe('fulfilled');
    expect(results[1].status === 'rejected' && results[1].reason).toBeInstanceOf(LostLeaseError);
    expect(results[2].status === 'rejected' && results[2].reason).toBeInstanceOf(LostLeaseError);
    const states = await store.knex('deliveries').select('id', 'state').orderBy('id');
    expect(states.map((s) => s.state)).toEqual(['sending', 'pending', 'pending']);
    await expect(writer.write(a, token, 'sending', { state: 'processed' }, T0 + 2)).rejects.toThrow(/illegal transition sending → processed/);
  });

  it('writes of different shapes share one commit; a column a write does not name keeps its value, one it sets to null is cleared', async () => {
    const { token, items } = await claimed(3);
    const [a, b, c] = items.map((i) => i.delivery.id) as [number, number, number];
    await store.knex('deliveries').whereIn('id', [a, b, c]).update({ last_error: 'earlier', reason: 'kept' });
    const writer = new DeliveryWriter(store);
    await Promise.all([
      writer.write(a, token, 'pending', { state: 'sending', attempts: 1, keepLease: true }, T0 + 1),
      writer.write(b, token, 'pending', { state: 'pending', attempts: 1, last_error: null, next_attempt_at: T0 + 60_000 }, T0 + 1),
      writer.write(c, token, 'pending', { state: 'failed', last_error: 'http 400' }, T0 + 1),
    ]);
    expect(writer.stats).toMatchObject({ commits: 1, rows: 3 });
    const rows = await store.knex('deliveries').select('id', 'state', 'attempts', 'last_error', 'reason', 'lease_token', 'next_attempt_at', 'finished_at').orderBy('id');
    expect(rows.map((r) => ({ ...r, next_attempt_at: Number(r.next_attempt_at), finished_at: r.finished_at == null ? null : Number(r.finished_at) }))).toEqual([
      { id: a, state: 'sending', attempts: 1, last_error: 'earlier', reason: 'kept', lease_token: token, next_attempt_at: T0, finished_at: null },
      { id: b, state: 'pending', attempts: 1, last_error: null, reason: 'kept', lease_token: null, next_attempt_at: T0 + 60_000, finished_at: null },
      { id: c, state: 'failed', attempts: 0, last_error: 'http 400', reason: 'kept', lease_token: null, next_attempt_at: T0, finished_at: T0 + 1 },
    ]);
  });

  it('two writes of one delivery go in order, never in one commit', async () => {
    const { token, items } = await claimed(1);
    const id = items[0]!.delivery.id;
    const writer = new DeliveryWriter(store);
    // Queued in the same turn: the second needs the first's state, so it must wait for its commit.
    const first = writer.write(id, token, 'pending', { state: 'sending', keepLease: true }, T0 + 1);
    const second = writer.write(id, token, 'sending', { state: 'accepted', provider_id: 'm1', next_attempt_at: T0 + 10 }, T0 + 2);
    // settle() too waits for the second (it cannot join the first's statement), never spinning.
    await writer.settle();
    await Promise.all([first, second]);
    expect(writer.stats.commits).toBe(2);
    expect(await store.knex('deliveries').where({ id }).first('state', 'provider_id')).toEqual({ state: 'accepted', provider_id: 'm1' });
  });

  it('a flush looks its rows up by primary key, never scanning the ledger (the plan PostgreSQL keeps for it)', async () => {
    // 3,000 deliveries with statistics: enough for a scan to look cheap to a planner that thinks
    // the JSON holds 100 rows of unknown ids; the first version of the statement scanned them all.
    await claimed(3000);
    const rows = JSON.stringify([{ id: 7, token: 't', from_state: 'pending', mask: 0, state: 'sending', updated_at: T0 }]);
    let plan: string;
    if (dialect === 'postgres') {
      await store.knex.raw('analyze deliveries');
      // Both forms of the flush: alone, and carrying the attempts log's records.
      const plans: string[] = [];
      for (const [sql, args] of [[WRITE_SQL.postgres, `'${rows}'`], [WRITE_SQL.postgresWithAttempts, `'${rows}', '[]'`]] as const) {
        plans.push(await store.knex.transaction(async (trx) => {
          // The generic plan is what a named prepared statement runs after its first executions.
          await trx.raw('set local plan_cache_mode = force_generic_plan');
          let n = 0;
          const params = sql.split('?').length - 1;
          await trx.raw(`prepare ponte_flush_plan(${Array(params).fill('json').join(', ')}) as ${sql.replace(/\?/g, () => `$${++n}`)}`);
          const r = (await trx.raw(`explain execute ponte_flush_plan(${args})`)) as { rows: Array<Record<string, string>> };
          await trx.raw('deallocate ponte_flush_plan');
          return r.rows.map((x) => x['QUERY PLAN']).join('\n');
        }));
      }
      for (const p of plans) expect(p).toMatch(/Index Scan using deliveries_pkey on deliveries/);
      expect(plans[1]).toMatch(/Insert on delivery_attempts/);
      plan = plans.join('\n');
    } else {
      plan = JSON.stringify(await store.knex.raw(`explain query plan ${WRITE_SQL.sqlite}`, [JSON.stringify([[7, 't', 'pending', 0, 'sending', T0]])]));
      expect(plan).toMatch(/SEARCH deliveries USING INTEGER PRIMARY KEY/);
    }
    expect(plan).not.toMatch(/SCAN deliveries|Seq Scan on deliveries/i);
  });

  it.runIf(dialect === 'postgres')('PostgreSQL: a flush inserts the attempts log\'s waiting records in its own statement; a failed flush gives them back', async () => {
    const { token, items } = await claimed(3);
    const [a, b, c] = items.map((i) => i.delivery.id) as [number, number, number];
    // Its own flush would come only after 10 s or 200 records: what is written here, the writer wrote.
    const log = new AttemptLog(store, 200, 10_000);
    const writer = new DeliveryWriter(store, { attempts: log });
    const call = (deliveryId: number, kind: 'check' | 'send', outcome = 'ok') => ({ deliveryId, kind, startedAt: T0, durationMs: 12, outcome });
    log.add(call(a, 'check'));
    log.add(call(a, 'send', 'transient'));
    await writer.write(a, token, 'pending', { state: 'sending', keepLease: true }, T0 + 1);
    expect(writer.stats.commits).toBe(1);
    const logged = async () => (await store.knex('delivery_attempts').orderBy('id').select('delivery_id', 'kind', 'outcome')).map((r) => `${Number(r.delivery_id) === a ? 'a' : Number(r.delivery_id) === b ? 'b' : 'c'}:${r.kind}:${r.outcome}`);
    expect(await logged()).toEqual(['a:check:ok', 'a:send:transient']);

    // A flush that fails (a provider id longer than the column) rolls back its records with it;
    // they go out with the next flush, once, in their order.
    log.add(call(b, 'check'));
    log.add(call(b, 'send'));
    await expect(writer.write(b, token, 'pending', { state: 'sending', provider_id: 'x'.repeat(300), keepLease: true }, T0 + 2)).rejects.toThrow(/too long/);
    expect(await logged()).toEqual(['a:check:ok', 'a:send:transient']);
    log.add(call(c, 'check'));
    await writer.write(c, token, 'pending', { state: 'sending', keepLease: true }, T0 + 3);
    expect(await logged()).toEqual(['a:check:ok', 'a:send:transient', 'b:check:ok', 'b:send:ok', 'c:check:ok']);
    await log.flush();
    expect(await logged()).toHaveLength(5);
  });

  it.runIf(dialect === 'postgres')('PostgreSQL: runs up to 8 flushes at once, two fewer than the pool has connections', async () => {
    const { token, items } = await claimed(12);
    const small = knexFactory({ ...store.scratch.config, pool: { min: 0, max: 4 } });
    // Twelve writes, one per turn of the event loop (each would be a flush of its own), while
    // another session locks every row: each flush then waits inside PostgreSQL until it lets go.
    const whileLocked = async (writer: DeliveryWriter, write: (id: number) => Promise<void>): Promise<void> => {
      const lock = await store.knex.transaction();
      try {
        await lock('deliveries').select('id').forUpdate();
        const done: Array<Promise<void>> = [];
        for (const it of items) {
          done.push(write(it.delivery.id));
          await new Promise((r) => setImmediate(r));
        }
        await new Promise((r) => setTimeout(r, 100));
        expect(writer.stats.commits).toBe(0); // every flush that started is waiting for the lock
        await lock.commit();
        await Promise.all(done);
      } finally {
        if (!lock.isCompleted()) await lock.rollback();
      }
    };
    try {
      const big = new DeliveryWriter(store); // the pool's default 10 connections
      await whileLocked(big, (id) => big.write(id, token, 'pending', { state: 'sending', keepLease: true }, T0 + 1));
      expect(big.stats.mostAtOnce).toBe(8);
      const four = new DeliveryWriter(storeFromKnex(small));
      await whileLocked(four, (id) => four.write(id, token, 'sending', { state: 'accepted', provider_id: `m${id}`, sent_at: T0 + 2, next_attempt_at: T0 + 5000 }, T0 + 2));
      expect(four.stats.mostAtOnce).toBe(2);
      expect(big.stats.rows + four.stats.rows).toBe(24);
    } finally {
      await small.destroy();
    }
    expect((await store.knex('deliveries').distinct('state')).map((r) => r.state)).toEqual(['accepted']);
  });
});
