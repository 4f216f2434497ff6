// The attempts log, written in batches, on every store dialect: each provider call comes back
// exactly as recorded (nulls, quotes and all).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { availableDialects } from '../helpers/databases.js';
import { testStore, type TestStore } from '../helpers/store.js';
import { commitBatch } from '../../src/store/commit-batch.js';
import { AttemptLog } from '../../src/store/attempts.js';

const { run, skipped } = await availableDialects(['sqlite', 'postgres']);
if (skipped.length) console.warn(`[attempts] skipped: ${skipped.join('; ')}`);

describe.each(run)('attempts log on %s', (dialect) => {
  let store: TestStore;
  beforeEach(async () => { store = await testStore(dialect); });
  afterEach(async () => { await store.close(); });

  it('writes 250 calls in batches and reads each back as recorded', async () => {
    await commitBatch(store.knex, {
      instanceId: 'i', cancellations: [], rowErrors: [], now: 1,
      events: [{ key: 'k', type: 't', fiscalCode: 'RSSMRA80A01H501U', data: {}, route: {}, deliveries: [{ channel: 'appio', options: {}, routeIndex: 0, address: null }] }],
    });
    const [{ id }] = await store.knex('deliveries').select('id');
    const log = new AttemptLog(store, 200, 10_000);
    const calls = Array.from({ length: 250 }, (_, i) => ({
      deliveryId: Number(id), kind: (['check', 'send', 'status'] as const)[i % 3]!, startedAt: 1_800_000_000_000 + i, durationMs: i + 0.4,
      outcome: i % 2 ? 'ok' : 'transient',
      ...(i % 2 ? {} : { httpStatus: 500, error: `io: POST /messages → 500 "quoted" \\ back\\slash {${i}}` }),
    }));
    for (const c of calls) log.add(c);
    await log.flush();
    const rows = await store.knex('delivery_attempts').orderBy('id').select('delivery_id', 'kind', 'started_at', 'duration_ms', 'outcome', 'http_status', 'error');
    expect(rows.map((r) => ({ ...r, delivery_id: Number(r.delivery_id), started_at: Number(r.started_at) }))).toEqual(calls.map((c) => ({
      delivery_id: c.deliveryId, kind: c.kind, started_at: c.startedAt, duration_ms: Math.round(c.durationMs), outcome: c.outcome,
      http_status: c.httpStatus ?? null, error: c.error ?? null,
    })));
  });
});
