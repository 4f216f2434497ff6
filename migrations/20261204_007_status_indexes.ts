// `ponte status` lists the latest deliveries that need an operator (uncertain, dead, failed) and
// the latest fallbacks (route_index > 0). Without an index for each, both read the whole ledger:
// 0.3 s at 2 M rows, growing with it, on every status. Partial indexes hold only those rows, so
// the dispatcher's writes (pending → sending → accepted → processed) never touch them.
// The queries name the same constants as these predicates (not bound parameters): SQLite uses a
// partial index only when the query's literals imply its WHERE.
import type { Knex } from 'knex';

export const ATTENTION_STATES = ['uncertain', 'dead', 'failed'] as const;
export const ATTENTION_SQL = `state in (${ATTENTION_STATES.map((s) => `'${s}'`).join(', ')})`;
export const FALLBACK_SQL = 'route_index > 0';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('deliveries', (t) => {
    t.index(['updated_at'], 'deliveries_attention_index', { predicate: knex.whereRaw(ATTENTION_SQL) });
    t.index(['id'], 'deliveries_fallback_index', { predicate: knex.whereRaw(FALLBACK_SQL) });
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('deliveries', (t) => {
    t.dropIndex(['updated_at'], 'deliveries_attention_index');
    t.dropIndex(['id'], 'deliveries_fallback_index');
  });
}
