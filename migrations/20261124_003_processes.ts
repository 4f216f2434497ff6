// Live Ponte processes sharing the store: each heartbeats; the count splits per-account provider
// limits (IO's 150 requests / 5 s per owner) between them.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('processes', (t) => {
    t.string('owner', 100).primary();
    t.bigInteger('started_at').notNullable();
    t.bigInteger('heartbeat_at').notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('processes');
}
