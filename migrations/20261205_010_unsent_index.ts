// `ponte status` says why deliveries did not go out: the reasons of those that ended rejected,
// failed or dead in the last days. No existing index reads that window (rejected is in none, and
// finished_at in none), so every status would scan the ledger. A partial index holds only those
// rows: a delivery enters it once, when it ends so; inserts and every other transition skip it.
// The query names the same literals (SQLite uses a partial index only when they imply its WHERE).
import type { Knex } from 'knex';

export const UNSENT_STATES = ['rejected', 'failed', 'dead'] as const;
export const UNSENT_SQL = `state in (${UNSENT_STATES.map((s) => `'${s}'`).join(', ')})`;

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('deliveries', (t) => {
    t.index(['finished_at'], 'deliveries_unsent_index', { predicate: knex.whereRaw(UNSENT_SQL) });
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('deliveries', (t) => {
    t.dropIndex(['finished_at'], 'deliveries_unsent_index');
  });
}
