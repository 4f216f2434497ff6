// Core schema: connector state and runs, the permanent event ledger, deliveries, attempts, row errors.
// Instants are epoch milliseconds (bigint) on every dialect: one representation, exact comparisons,
// no driver time-zone conversions.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('connector_state', (t) => {
    t.string('instance_id', 100).primary();
    // Cursor as JSON text at the column's native precision (never through a JS Date).
    t.text('cursor');
    t.string('lease_owner', 100);
    // Fencing token: bumped on every lease acquisition and checked inside each commit.
    t.bigInteger('lease_epoch').notNullable().defaultTo(0);
    t.bigInteger('lease_expires_at');
    t.bigInteger('last_run_at');
    t.string('last_run_status', 20);
    t.text('last_run_error');
    t.bigInteger('updated_at').notNullable();
  });

  await knex.schema.createTable('connector_runs', (t) => {
    t.bigIncrements('id');
    t.string('instance_id', 100).notNullable();
    t.string('owner', 100).notNullable();
    t.bigInteger('started_at').notNullable();
    t.bigInteger('finished_at');
    t.string('status', 20).notNullable(); // running | ok | failed | fenced
    t.integer('rows_read').notNullable().defaultTo(0);
    t.integer('events_new').notNullable().defaultTo(0);
    t.integer('events_duplicate').notNullable().defaultTo(0);
    t.integer('cancelled').notNullable().defaultTo(0);
    t.integer('row_errors').notNullable().defaultTo(0);
    t.text('error');
    t.index(['instance_id', 'started_at']);
  });

  await knex.schema.createTable('events', (t) => {
    t.bigIncrements('id');
    // The permanent dedup ledger: one row per real-world occurrence, forever, per connector
    // instance (two instances reading two back-offices may well both have an appointment 123).
    t.string('dedup_key', 400).notNullable();
    t.string('instance_id', 100).notNullable();
    t.string('type', 100).notNullable();
    t.string('entity', 300);
    t.string('fiscal_code', 16).notNullable();
    t.string('phone', 40);
    t.string('language', 8);
    t.text('payload'); // JSON template data; purged after retention
    t.bigInteger('not_before');
    t.bigInteger('expires_at');
    t.bigInteger('created_at').notNullable();
    t.unique(['instance_id', 'dedup_key']);
    t.index(['instance_id', 'entity']);
  });

  await knex.schema.createTable('deliveries', (t) => {
    t.bigIncrements('id');
    t.bigInteger('event_id').notNullable().references('events.id');
    t.string('channel', 30).notNullable();
    t.text('options'); // JSON: channel options chosen by routing (e.g. IO service)
    // pending → sending → accepted → processed | rejected | failed; or skipped, cancelled,
    // expired, dead, uncertain (see src/store/states.ts).
    t.string('state', 20).notNullable();
    t.integer('attempts').notNullable().defaultTo(0);
    t.integer('polls').notNullable().defaultTo(0);
    t.bigInteger('next_attempt_at').notNullable();
    t.string('lease_token', 64);
    t.bigInteger('lease_until');
    t.string('provider_id', 100);
    t.text('reason');
    t.text('last_error');
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
    t.bigInteger('sent_at');
    t.bigInteger('finished_at');
    t.unique(['event_id', 'channel']);
    // The claim query: due work in states that the dispatcher acts on.
    t.index(['state', 'next_attempt_at']);
  });

  await knex.schema.createTable('delivery_attempts', (t) => {
    t.bigIncrements('id');
    t.bigInteger('delivery_id').notNullable().references('deliveries.id');
    t.string('kind', 20).notNullable(); // check | send | status
    t.bigInteger('started_at').notNullable();
    t.integer('duration_ms').notNullable();
    t.string('outcome', 30).notNullable();
    t.integer('http_status');
    t.text('error');
    t.index(['delivery_id']);
  });

  await knex.schema.createTable('row_errors', (t) => {
    t.bigIncrements('id');
    t.string('instance_id', 100).notNullable();
    t.string('row_key', 200).notNullable();
    t.string('field', 100).notNullable().defaultTo('');
    t.text('message').notNullable();
    t.bigInteger('first_seen').notNullable();
    t.bigInteger('last_seen').notNullable();
    t.integer('seen').notNullable().defaultTo(1);
    t.unique(['instance_id', 'row_key', 'field']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const t of ['row_errors', 'delivery_attempts', 'deliveries', 'events', 'connector_runs', 'connector_state']) {
    await knex.schema.dropTableIfExists(t);
  }
}
