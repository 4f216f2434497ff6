// WhatsApp's messaging limit: how many unique citizens the account may reach outside an open
// customer-service window per moving 24 h (citizen-service.md §1.3). Read from the Cloud API
// (`whatsapp_business_manager_messaging_limit`), kept in the store, and spent by broadcasts.
import type { Knex } from 'knex';
import type { AxiosInstance } from 'axios';

const TIERS: Record<string, number> = {
  TIER_50: 50, TIER_250: 250, TIER_1K: 1000, TIER_2K: 2000, TIER_10K: 10_000, TIER_100K: 100_000, TIER_UNLIMITED: -1,
};

/** "TIER_2K" (pull, phone_number_quality_update) or 2000 / -1 (business_capability_update) → citizens per 24 h; -1 = unlimited. */
export function parseTier(value: unknown): number | null {
  if (typeof value === 'number' && Number.isInteger(value) && (value === -1 || value > 0)) return value;
  if (typeof value === 'string') return TIERS[value] ?? null;
  return null;
}

export interface MessagingLimit { limit: number; tier: string; checkedAt: number }

export async function fetchMessagingLimit(http: AxiosInstance, base: { graphUrl: string; version: string; phoneNumberId: string; token: string }): Promise<{ limit: number; tier: string }> {
  const url = `${base.graphUrl}/${base.version}/${base.phoneNumberId}`;
  const res = await http.get(url, { params: { fields: 'whatsapp_business_manager_messaging_limit' }, headers: { Authorization: `Bearer ${base.token}` }, validateStatus: () => true });
  if (res.status !== 200) throw new Error(`whatsapp: GET ${base.phoneNumberId}?fields=whatsapp_business_manager_messaging_limit → ${res.status}`);
  const tier = (res.data as { whatsapp_business_manager_messaging_limit?: unknown })?.whatsapp_business_manager_messaging_limit;
  const limit = parseTier(tier);
  if (limit === null) throw new Error(`whatsapp: unknown messaging limit tier ${JSON.stringify(tier)}`);
  return { limit, tier: String(tier) };
}

export async function saveMessagingLimit(knex: Knex, phoneNumberId: string, l: { limit: number; tier: string }, now: number): Promise<void> {
  await knex('whatsapp_account').insert({ phone_number_id: phoneNumberId, messaging_limit: l.limit, tier: l.tier, checked_at: now })
    .onConflict('phone_number_id').merge(['messaging_limit', 'tier', 'checked_at']);
}

/** The stored limit; a new account starts at Meta's lowest tier for an unverified business. */
export async function readMessagingLimit(knex: Knex, phoneNumberId: string): Promise<MessagingLimit> {
  const row = await knex('whatsapp_account').where({ phone_number_id: phoneNumberId }).first();
  if (!row) return { limit: 250, tier: 'TIER_250 (assumed: not read from the Cloud API yet)', checkedAt: 0 };
  return { limit: Number(row.messaging_limit), tier: String(row.tier), checkedAt: Number(row.checked_at) };
}

/**
 * Unique citizens already reached with a template in the last 24 h, and citizens already booked
 * for each later day by broadcasts still pending. Counting every template send is conservative:
 * some of them went inside an open window and did not count for Meta.
 */
export async function bookedPerDay(knex: Knex, now: number, days: number): Promise<number[]> {
  const DAY = 86_400_000;
  const sent = await knex('deliveries').where('channel', 'whatsapp').where('sent_at', '>=', now - DAY).countDistinct({ n: 'address' }).first();
  const booked = [Number(sent?.n ?? 0)];
  for (let d = 1; d < days; d++) booked.push(0);
  const pending = await knex('deliveries').where({ channel: 'whatsapp', state: 'pending' }).where('next_attempt_at', '>=', now).select('next_attempt_at', 'address');
  const seen = new Set<string>();
  for (const p of pending) {
    const day = Math.floor((Number(p.next_attempt_at) - now) / DAY);
    if (day < 1 || day >= days) continue;
    const k = `${day}:${p.address}`;
    if (seen.has(k)) continue;
    seen.add(k);
    booked[day] = (booked[day] ?? 0) + 1;
  }
  return booked;
}
