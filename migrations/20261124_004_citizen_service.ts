// The citizens' WhatsApp service (issue 7): conversation state per citizen, topic subscriptions
// with their proof, optional profile attributes, hand-off to staff, and broadcasts. A broadcast
// fans out into one event per (broadcast, citizen) in the ordinary ledger, so dedup, dispatch,
// retries and the resend/cancel tools are the same as for reminders.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('citizen_sessions', (t) => {
    t.string('phone', 40).primary();
    t.string('menu', 200); // the menu last shown, to read "B" or "2" against it
    t.text('pending'); // JSON: a question awaiting an answer (profile attribute, erase confirmation)
    // bot | waiting_human | human | closed: the bot is silent while a person has the conversation.
    t.string('handoff', 20).notNullable().defaultTo('bot');
    t.bigInteger('handoff_at');
    t.bigInteger('last_inbound_at'); // opens WhatsApp's 24-hour customer service window
    t.bigInteger('updated_at').notNullable();
  });
  await knex.schema.createTable('topic_subscriptions', (t) => {
    t.string('phone', 40).notNullable();
    t.string('topic', 60).notNullable();
    t.string('state', 20).notNullable(); // subscribed | unsubscribed
    t.bigInteger('updated_at').notNullable();
    t.primary(['phone', 'topic']);
    t.index(['topic', 'state']);
  });
  await knex.schema.createTable('citizen_profiles', (t) => {
    t.string('phone', 40).primary();
    t.text('attributes').notNullable(); // JSON {ageBand: '30-49', area: 'centro'}
    t.bigInteger('updated_at').notNullable();
  });
  // Consent proof gains the topic, the privacy-notice version shown and the inbound message id.
  await knex.schema.alterTable('consent_events', (t) => {
    t.string('topic', 60);
    t.string('privacy_version', 40);
    t.string('proof', 200);
  });
  await knex.schema.createTable('broadcasts', (t) => {
    t.bigIncrements('id');
    t.string('key', 300).notNullable().unique(); // operator-given or connector dedup key
    t.string('topic', 60).notNullable();
    t.string('category', 20).notNullable(); // utility | marketing (Meta's template category)
    t.string('template', 200).notNullable();
    t.string('language', 10).notNullable();
    t.text('params').notNullable(); // JSON array of body parameters
    t.text('segment'); // JSON {ageBand: [...], area: [...]} or null = everyone subscribed
    t.boolean('urgent').notNullable().defaultTo(false);
    t.string('status', 20).notNullable(); // scheduled | sending | done | cancelled
    t.string('source', 100).notNullable(); // cli | connector:<id>
    t.integer('audience').notNullable().defaultTo(0);
    t.integer('days').notNullable().defaultTo(1);
    t.bigInteger('scheduled_at').notNullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('cancelled_at');
  });
  // The account's messaging limit (unique citizens reachable outside an open window per 24 h).
  await knex.schema.createTable('whatsapp_account', (t) => {
    t.string('phone_number_id', 100).primary();
    t.integer('messaging_limit'); // -1 = unlimited
    t.string('tier', 30);
    t.bigInteger('checked_at').notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('whatsapp_account');
  await knex.schema.dropTableIfExists('broadcasts');
  await knex.schema.alterTable('consent_events', (t) => { t.dropColumn('topic'); t.dropColumn('privacy_version'); t.dropColumn('proof'); });
  await knex.schema.dropTableIfExists('citizen_profiles');
  await knex.schema.dropTableIfExists('topic_subscriptions');
  await knex.schema.dropTableIfExists('citizen_sessions');
}
