// What `ponte migrate` (and a process starting on an older store) is about to do, in words: the
// pending migrations, and how much work the slow one has. Migration 008 rewrites every broadcast
// dedup key, in batches of 500 (about 2 min per million on PostgreSQL), inside the migration's
// transaction, so other processes wait on the store meanwhile; a silent minute looks like a hang.
import type { Store } from './db.js';
import { withoutQueryTimeout } from './query-timeout.js';

const SLOW_MIGRATION = '20261205_008_recipient_pseudonyms';

export interface MigrationPlan {
  pending: string[];
  /** Broadcast events whose keys the pending 008 rewrites (0 when it is not pending). */
  broadcastKeys: number;
}

export async function migrationPlan(store: Store, pending: string[]): Promise<MigrationPlan> {
  // A new store has no ledger yet: nothing to rewrite.
  if (!pending.includes(SLOW_MIGRATION) || !(await store.knex.schema.hasTable('events'))) return { pending, broadcastKeys: 0 };
  // A count over a large ledger may take longer than store.queryTimeoutSeconds: part of migrating.
  const row = (await withoutQueryTimeout(() => store.knex('events').where('type', 'broadcast').count({ n: '*' }).first())) as { n: number | string } | undefined;
  return { pending, broadcastKeys: Number(row?.n ?? 0) };
}

export function describePlan(plan: MigrationPlan): string[] {
  const lines = [`${plan.pending.length} migration(s) to apply, in one transaction (an interruption leaves the store as it was): ${plan.pending.join(', ')}`];
  if (plan.broadcastKeys > 0) {
    const minutes = Math.max(1, Math.ceil((plan.broadcastKeys / 1_000_000) * 2.5));
    lines.push(`${SLOW_MIGRATION} rewrites ${plan.broadcastKeys} broadcast dedup key(s): up to about ${minutes} min on PostgreSQL (less on SQLite); `
      + 'other Ponte processes on this store wait until it is done');
  }
  return lines;
}
