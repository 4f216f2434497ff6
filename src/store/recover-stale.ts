// After a crash: a delivery left in 'sending' may or may not have reached the provider (IO has no
// idempotency key), so it becomes 'uncertain' and is held for an operator — never resent silently.
import type { Knex } from 'knex';

export async function recoverStaleSends(knex: Knex, now: number): Promise<number> {
  return knex('deliveries')
    .where('state', 'sending')
    .where('lease_until', '<', now)
    .update({
      state: 'uncertain',
      reason: 'the process stopped while this send was in flight: it may or may not have reached the provider',
      lease_token: null,
      lease_until: null,
      updated_at: now,
    });
}
