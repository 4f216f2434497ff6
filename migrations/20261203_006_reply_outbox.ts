// Replies to a citizen's WhatsApp message (a STOP's confirmation, the service's answers) are
// written in the transaction that handles the message and sent after the webhook's 200. Sent only
// from memory, a process killed between that commit and the send lost them for good: Meta's retry
// of the message is recognised as already handled, so nothing would answer it again.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('reply_outbox', (t) => {
    t.bigIncrements('id');
    /** The citizen's message this answers (inbound_messages.id). */
    t.string('inbound_id', 200).notNullable();
    t.string('phone', 40).notNullable();
    /** Order within the answer (a text, then its menu). */
    t.integer('seq').notNullable();
    t.text('message').notNullable(); // JSON: the Cloud API message object
    // pending → sending (claimed until claim_until) → sent | failed | stale
    t.string('state', 20).notNullable();
    t.bigInteger('claim_until');
    t.integer('attempts').notNullable().defaultTo(0);
    t.text('last_error');
    t.bigInteger('created_at').notNullable();
    t.bigInteger('sent_at');
    t.unique(['inbound_id', 'seq']);
    t.index(['state', 'created_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('reply_outbox');
}
