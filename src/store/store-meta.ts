// Values a store draws for itself once (migration 008): the key behind recipients' pseudonyms.
import type { Knex } from 'knex';
import { RECIPIENT_KEY_NAME, recipientPseudonym } from '../../migrations/20261205_008_recipient_pseudonyms.js';

/** name → pseudonym of a phone number, stable within this store (see migration 008). */
export async function recipientPseudonyms(knex: Knex): Promise<(phone: string) => string> {
  const row = (await knex('store_meta').where({ name: RECIPIENT_KEY_NAME }).first('value')) as { value: string } | undefined;
  if (!row) throw new Error(`store_meta has no ${RECIPIENT_KEY_NAME}: run \`npx ponte migrate\``);
  return (phone) => recipientPseudonym(row.value, phone);
}
