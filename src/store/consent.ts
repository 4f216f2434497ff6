// Citizen consent to WhatsApp messages: the current state per number and an append-only proof of
// every change (when, how, what the citizen wrote). An opt-out cancels the number's pending sends
// in the same transaction, so it takes effect before the next send.
import type { Knex } from 'knex';

export type ConsentAction = 'opt_in' | 'opt_out';

export interface ConsentChange {
  phone: string; // E.164
  action: ConsentAction;
  source: string;
  text?: string | null;
  at: number;
}

export async function recordConsent(knex: Knex, c: ConsentChange): Promise<{ cancelled: number }> {
  return knex.transaction(async (trx) => {
    await trx('consent_events').insert({ phone: c.phone, action: c.action, source: c.source, text: c.text ?? null, at: c.at });
    const state = c.action === 'opt_in' ? 'opted_in' : 'opted_out';
    // The newest change wins, whatever order changes are recorded in (imports of old forms).
    const current = await trx('consents').where({ phone: c.phone }).first('updated_at');
    if (!current) await trx('consents').insert({ phone: c.phone, channel: 'whatsapp', state, updated_at: c.at });
    else if (Number(current.updated_at) <= c.at) await trx('consents').where({ phone: c.phone }).update({ state, updated_at: c.at });
    if (c.action !== 'opt_out' || (current && Number(current.updated_at) > c.at)) return { cancelled: 0 };
    const cancelled = await trx('deliveries')
      .where({ channel: 'whatsapp', address: c.phone, state: 'pending' })
      .update({ state: 'cancelled', reason: `the citizen opted out of WhatsApp (${c.source})`, finished_at: c.at, updated_at: c.at, lease_token: null, lease_until: null });
    return { cancelled };
  });
}

export async function isOptedIn(knex: Knex, phone: string): Promise<boolean> {
  const row = await knex('consents').where({ phone }).first('state');
  return row?.state === 'opted_in';
}

/** A number's WhatsApp consent as it stands, with the change that set it (for a helpdesk), or null. */
export async function consentOf(knex: Knex, phone: string): Promise<{ state: string; at: number; source: string | null } | null> {
  const row = await knex('consents').where({ phone }).first('state', 'updated_at');
  if (!row) return null;
  const last = await knex('consent_events').where({ phone }).orderBy('at', 'desc').orderBy('id', 'desc').first('source');
  return { state: String(row.state), at: Number(row.updated_at), source: (last?.source as string | undefined) ?? null };
}
