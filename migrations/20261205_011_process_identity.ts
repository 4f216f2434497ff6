// What a restarted process needs to release a killed one's claims at once (src/store/dead-processes.ts):
// which machine and process namespace it ran in, its pid there, and the prefix of its claim tokens.
// Rows written by older versions have none of them and are left to their leases, as before.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('processes', (t) => {
    t.string('host_key', 64);
    t.integer('pid');
    t.string('claim_tag', 16);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('processes', (t) => {
    t.dropColumn('host_key');
    t.dropColumn('pid');
    t.dropColumn('claim_tag');
  });
}
