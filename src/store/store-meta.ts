// Values a store draws for itself once (migration 008): the key behind recipients' pseudonyms,
// and, derived from it, the key behind the citizens' refs in logs.
import type { Knex } from 'knex';
import { RECIPIENT_KEY_NAME, recipientPseudonym } from '../../migrations/20261205_008_recipient_pseudonyms.js';
import { refKeyFromStoreSecret, setRefKey } from '../log/ref-key.js';

async function storeSecret(knex: Knex): Promise<string | undefined> {
  const row = (await knex('store_meta').where({ name: RECIPIENT_KEY_NAME }).first('value')) as { value: string } | undefined;
  return row?.value;
}

/** name → pseudonym of a phone number, stable within this store (see migration 008). */
export async function recipientPseudonyms(knex: Knex): Promise<(phone: string) => string> {
  const secret = await storeSecret(knex);
  if (secret === undefined) throw new Error(`store_meta has no ${RECIPIENT_KEY_NAME}: run \`npx ponte migrate\``);
  return (phone) => recipientPseudonym(secret, phone);
}

/**
 * Key this process's log refs (tel#…, cf#…) by this store, so they are the same in every process
 * of the installation (see src/log/ref-key.ts). Called once a command has opened (and migrated)
 * its store. A store not migrated yet has no secret: the process keeps its random key, and
 * false says so.
 */
export async function useStoreRefKey(knex: Knex): Promise<boolean> {
  if (!(await knex.schema.hasTable('store_meta'))) return false;
  const secret = await storeSecret(knex);
  if (secret === undefined) return false;
  setRefKey(refKeyFromStoreSecret(secret));
  return true;
}
