// Second channel and citizen consent: routing per event (with fallback), channel addresses,
// WhatsApp statuses from webhooks, inbound messages, consents with their proof, channel alerts.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('events', (t) => {
    // The route decided when the event was stored (mode, channel steps, quiet hours): config
    // changes never re-route events already in flight.
    t.text('route');
  });
  await knex.schema.alterTable('deliveries', (t) => {
    t.integer('route_index').notNullable().defaultTo(0);
    // The channel address (WhatsApp: E.164 number), to find a citizen's pending sends on opt-out.
    t.string('address', 40);
    t.index(['channel', 'address']);
    t.index(['provider_id']);
  });

  // Every status webhook once per (wamid, status): duplicates are ignored, order does not matter.
  await knex.schema.createTable('whatsapp_statuses', (t) => {
    t.bigIncrements('id');
    t.string('wamid', 200).notNullable();
    t.string('status', 20).notNullable();
    t.bigInteger('delivery_id');
    t.integer('error_code');
    t.text('error_title');
    t.bigInteger('status_at').notNullable();
    t.bigInteger('received_at').notNullable();
    t.unique(['wamid', 'status']);
    t.index(['delivery_id']);
  });

  // Inbound messages, deduplicated on Meta's id (webhooks may be delivered more than once).
  await knex.schema.createTable('inbound_messages', (t) => {
    t.string('id', 200).primary();
    t.string('phone', 40).notNullable();
    t.string('type', 30).notNullable();
    t.text('text');
    t.string('handled_as', 40);
    t.bigInteger('received_at').notNullable();
    t.index(['phone', 'received_at']);
  });

  // The current consent per number, and the append-only proof of every change.
  await knex.schema.createTable('consents', (t) => {
    t.string('phone', 40).primary();
    t.string('channel', 30).notNullable().defaultTo('whatsapp');
    t.string('state', 20).notNullable(); // opted_in | opted_out
    t.bigInteger('updated_at').notNullable();
  });
  await knex.schema.createTable('consent_events', (t) => {
    t.bigIncrements('id');
    t.string('phone', 40).notNullable();
    t.string('action', 20).notNullable(); // opt_in | opt_out
    t.string('source', 100).notNullable(); // whatsapp-keyword | csv:<file> | operator ...
    t.text('text'); // what the citizen wrote, or the import line
    t.bigInteger('at').notNullable();
    t.index(['phone', 'at']);
  });

  // Stop-and-alert conditions (revoked token, blocked account): no sends on that channel.
  await knex.schema.createTable('channel_alerts', (t) => {
    t.string('channel', 30).primary();
    t.text('reason').notNullable();
    t.string('code', 30);
    t.bigInteger('since').notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const t of ['channel_alerts', 'consent_events', 'consents', 'inbound_messages', 'whatsapp_statuses']) await knex.schema.dropTableIfExists(t);
  await knex.schema.alterTable('deliveries', (t) => {
    t.dropIndex(['channel', 'address']);
    t.dropIndex(['provider_id']);
    t.dropColumn('route_index');
    t.dropColumn('address');
  });
  await knex.schema.alterTable('events', (t) => { t.dropColumn('route'); });
}
