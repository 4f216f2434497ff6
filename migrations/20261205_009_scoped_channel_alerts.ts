// A stop-and-alert may concern one part of a channel: a 401 is about one IO service's key, and
// halting every IO service for it stopped the municipality's other offices too. Such an alert is
// keyed "<channel>:<part>" (e.g. "appio:polizia-locale"), longer than the 30 characters the
// column allowed. Alerts are few and short-lived: the table is rebuilt, keeping its rows, the same
// way on every store.
import type { Knex } from 'knex';

async function rebuild(knex: Knex, length: number): Promise<void> {
  const rows = ((await knex('channel_alerts').select('*')) as Array<{ channel: string }>).filter((r) => r.channel.length <= length);
  await knex.schema.dropTable('channel_alerts');
  await knex.schema.createTable('channel_alerts', (t) => {
    t.string('channel', length).primary();
    t.text('reason').notNullable();
    t.string('code', 30);
    t.bigInteger('since').notNullable();
  });
  if (rows.length) await knex('channel_alerts').insert(rows);
}

export async function up(knex: Knex): Promise<void> {
  await rebuild(knex, 200);
}

export async function down(knex: Knex): Promise<void> {
  // A part's alert does not fit the old column: it goes (the daemon lifts alerts at start anyway).
  await rebuild(knex, 30);
}
