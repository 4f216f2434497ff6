// A broadcast's dedup keys named each recipient by phone number ("<broadcast key>:+39…"). The
// ledger keeps dedup keys for good — through retention, which removes the event's phone, and
// through a citizen's erasure — so the number stayed in clear forever, and `ponte deliveries`
// printed it. A recipient is now named by a pseudonym: an HMAC of the number under a random key
// this store draws once (kept in store_meta). The same number always gives the same pseudonym in
// one store, so creating a broadcast again still fans out once; without the store's key the
// pseudonym does not lead back to the number. Existing keys are rewritten the same way.
// The function lives here, not in src/, so this migration keeps doing what it did when it ran.
import { createHmac, randomBytes } from 'node:crypto';
import type { Knex } from 'knex';

export const RECIPIENT_KEY_NAME = 'recipient_pseudonym_key';

/** The recipient part of a broadcast's dedup key: 20 characters of base64url (120 bits). */
export function recipientPseudonym(storeKey: string, phone: string): string {
  return `r${createHmac('sha256', storeKey).update(phone).digest('base64url').slice(0, 20)}`;
}

const E164_TAIL = /:(\+[1-9]\d{6,14})$/;

export async function up(knex: Knex): Promise<void> {
  // The table and its key survive a `down` (below): an up after it finds them and goes on.
  if (!(await knex.schema.hasTable('store_meta'))) {
    await knex.schema.createTable('store_meta', (t) => {
      t.string('name', 60).primary();
      t.text('value').notNullable();
    });
  }
  let row = (await knex('store_meta').where({ name: RECIPIENT_KEY_NAME }).first('value')) as { value: string } | undefined;
  if (!row) {
    row = { value: randomBytes(32).toString('hex') };
    await knex('store_meta').insert({ name: RECIPIENT_KEY_NAME, value: row.value });
  }
  const key = row.value;
  // Broadcast events carry no fiscal code; their key ends with the recipient's number.
  let after = 0;
  for (;;) {
    const rows = (await knex('events').where('type', 'broadcast').where('id', '>', after).orderBy('id').limit(1000)
      .select('id', 'dedup_key')) as Array<{ id: number | string; dedup_key: string }>;
    if (rows.length === 0) break;
    after = Number(rows.at(-1)!.id);
    const renamed: Array<[id: number | string, key: string]> = [];
    for (const r of rows) {
      const m = E164_TAIL.exec(r.dedup_key);
      if (m) renamed.push([r.id, r.dedup_key.slice(0, m.index + 1) + recipientPseudonym(key, m[1]!)]);
    }
    for (let i = 0; i < renamed.length; i += REWRITE_BATCH) await rewriteKeys(knex, renamed.slice(i, i + REWRITE_BATCH));
  }
}

// One UPDATE per row took 1 min 43 s for 300,000 keys on PostgreSQL, every other process waiting
// on the store meanwhile; a CASE over 500 rows took 40 s (36 → 8–14 s per 100,000 in paired
// runs). It is plain SQL on every dialect the store runs on; 500 rows make 1,500 parameters,
// inside SQL Server's 2,100.
const REWRITE_BATCH = 500;

async function rewriteKeys(knex: Knex, renamed: Array<[id: number | string, key: string]>): Promise<void> {
  if (renamed.length === 0) return;
  const ids = renamed.map(([id]) => id);
  await knex('events').whereIn('id', ids).update({
    dedup_key: knex.raw(`case id ${renamed.map(() => 'when ? then ?').join(' ')} end`, renamed.flat()),
  });
}

export async function down(_knex: Knex): Promise<void> {
  // Nothing to undo: the numbers cannot be recovered from their pseudonyms, and the store's key
  // stays, since the keys already written depend on it (a new one would fan a broadcast out again).
}
