// Attempt records put back after a statement cut at store.queryTimeoutSeconds: the statement may
// have committed on the server, its answer lost. Written again, they skip what the log already
// has, or `ponte delivery show` would list those provider calls twice.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testStore, type TestStore } from '../helpers/store.js';
import { availableDialects } from '../helpers/databases.js';
import { seedDeliveries } from '../../bench/seed-deliveries.js';
import { AttemptLog, type AttemptRecord } from '../../src/store/attempts.js';

const { run, skipped } = await availableDialects(['postgres']);
if (skipped.length) console.warn(`[attempts-unknown] skipped: ${skipped.join('; ')}`);

describe.runIf(run.includes('postgres'))('attempt records of a statement whose fate is unknown (PostgreSQL)', () => {
  let store: TestStore;
  beforeEach(async () => { store = await testStore('postgres'); });
  afterEach(async () => { await store.close(); });

  const count = async () => Number(((await store.knex('delivery_attempts').count({ n: '*' })) as [{ n: string }])[0].n);

  it('are written once: those the cut statement committed are skipped, the others written', async () => {
    await seedDeliveries(store, 1);
    const id = Number(((await store.knex('deliveries').select('id')) as [{ id: number }])[0].id);
    const log = new AttemptLog(store);
    const sent: AttemptRecord = { deliveryId: id, kind: 'send', startedAt: 1_000, durationMs: 40, outcome: 'ok' };
    const polled: AttemptRecord = { deliveryId: id, kind: 'status', startedAt: 2_000, durationMs: 30, outcome: 'ok' };
    log.add(sent);
    await log.flush(); // what the cut statement did commit
    expect(await count()).toBe(1);

    log.putBack([sent, polled], 0, true);
    await log.flush();
    const rows = (await store.knex('delivery_attempts').orderBy('started_at').select('kind', 'started_at')) as Array<{ kind: string; started_at: string }>;
    expect(rows.map((r) => [r.kind, Number(r.started_at)])).toEqual([['send', 1_000], ['status', 2_000]]);

    // Put back after a plain failure (nothing written), a record is written as it is.
    log.putBack([{ ...polled, startedAt: 3_000 }], 0);
    await log.flush();
    expect(await count()).toBe(3);
  });

  it('are kept out of the group commit\'s plain insert (take), and written by the log\'s own that skips them', async () => {
    await seedDeliveries(store, 1);
    const id = Number(((await store.knex('deliveries').select('id')) as [{ id: number }])[0].id);
    const log = new AttemptLog(store);
    const sent: AttemptRecord = { deliveryId: id, kind: 'send', startedAt: 1_000, durationMs: 40, outcome: 'ok' };
    const next: AttemptRecord = { deliveryId: id, kind: 'status', startedAt: 2_000, durationMs: 30, outcome: 'ok' };
    log.add(sent);
    await log.flush(); // the cut group commit did commit it
    log.putBack([sent], 0, true);
    log.add(next);
    // A group commit takes only what it may insert as it is.
    expect(log.take()).toEqual([next]);
    await log.flush();
    expect(await count()).toBe(1);
  });
});
