// After a crash: a delivery left in 'sending' may or may not have reached the provider (IO has no
// idempotency key). With onUncertain 'hold' (the default) it becomes 'uncertain' and is held for an
// operator — never resent silently; with 'resend' (at least once) it is due again at once.
import type { Knex } from 'knex';
import type { OnUncertain } from '../config/schema.js';

export async function recoverStaleSends(knex: Knex, now: number, onUncertain: OnUncertain = 'hold'): Promise<number> {
  return knex('deliveries')
    .where('state', 'sending')
    .where('lease_until', '<', now)
    .update({
      ...(onUncertain === 'hold'
        ? { state: 'uncertain', reason: 'the process stopped while this send was in flight: it may or may not have reached the provider' }
        : { state: 'pending', next_attempt_at: now, reason: 'the process stopped while this send was in flight: sent again (onUncertain: resend)' }),
      lease_token: null,
      lease_until: null,
      updated_at: now,
    });
}
