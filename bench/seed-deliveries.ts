// N pending IO deliveries in a store, as a poll would leave them, for the dispatch benchmarks
// and the dispatcher tests.
import { commitBatch, type NewEvent } from '../src/store/commit-batch.js';
import type { Store } from '../src/store/db.js';

export async function seedDeliveries(store: Store, n: number, fiscalCode = 'RSSMRA80A01H501U'): Promise<void> {
  const now = Date.now();
  for (let i = 0; i < n; i += 2000) {
    const events: NewEvent[] = Array.from({ length: Math.min(2000, n - i) }, (_, j) => ({
      key: `bench:${i + j}`, type: 'bench', fiscalCode, data: {},
      route: { mode: 'first', steps: [{ channel: 'appio', options: {} }] },
      deliveries: [{ channel: 'appio', options: {}, routeIndex: 0, address: null }],
    }));
    await commitBatch(store.knex, { instanceId: 'bench', events, cancellations: [], rowErrors: [], now });
  }
  // A store in service has planner statistics (autovacuum); a table filled a second ago has none yet.
  if (store.dialect === 'postgres') await store.knex.raw('analyze events, deliveries');
}
