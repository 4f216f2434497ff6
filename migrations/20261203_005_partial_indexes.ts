// Deliveries are looked up by provider id (WhatsApp status webhooks) and by address (a citizen's
// opt-out), always for a value, never for NULL, and most rows have neither: IO deliveries have no
// address, and no delivery has a provider id until it is accepted. Partial indexes over the rows
// that have one cost nothing at insert for the rest — a backfill writes a million deliveries, and
// these two indexes were over a third of each insert's time (PostgreSQL, measured).
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('deliveries', (t) => {
    t.dropIndex(['channel', 'address']);
    t.dropIndex(['provider_id']);
  });
  await knex.schema.alterTable('deliveries', (t) => {
    t.index(['channel', 'address'], 'deliveries_channel_address_index', { predicate: knex.whereNotNull('address') });
    t.index(['provider_id'], 'deliveries_provider_id_index', { predicate: knex.whereNotNull('provider_id') });
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('deliveries', (t) => {
    t.dropIndex(['channel', 'address']);
    t.dropIndex(['provider_id']);
  });
  await knex.schema.alterTable('deliveries', (t) => {
    t.index(['channel', 'address']);
    t.index(['provider_id']);
  });
}
