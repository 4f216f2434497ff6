// Optional profile attributes a citizen chose to give (age band, area), for segmenting broadcasts.
import type { Knex } from 'knex';

export async function getProfile(knex: Knex, phone: string): Promise<Record<string, string>> {
  const r = await knex('citizen_profiles').where({ phone }).first('attributes');
  return r ? (JSON.parse(r.attributes) as Record<string, string>) : {};
}

/** Sets one attribute; value null removes it ("rather not say"). */
export async function setProfileAttribute(knex: Knex, phone: string, attribute: string, value: string | null, now: number): Promise<void> {
  await knex.transaction(async (trx) => {
    const r = await trx('citizen_profiles').where({ phone }).first('attributes');
    const attrs = r ? (JSON.parse(r.attributes) as Record<string, string>) : {};
    if (value === null) delete attrs[attribute];
    else attrs[attribute] = value;
    const attributes = JSON.stringify(attrs);
    if (r) await trx('citizen_profiles').where({ phone }).update({ attributes, updated_at: now });
    else await trx('citizen_profiles').insert({ phone, attributes, updated_at: now });
  });
}
