// WhatsApp status webhooks: stored once per (wamid, status), so duplicates and any arrival order
// yield the same result. The delivery reads its highest status through the channel's status()
// (sent < delivered < read; failed counts only when nothing better arrived).
import type { Knex } from 'knex';

export type WaStatus = 'sent' | 'delivered' | 'read' | 'failed';

export interface StatusRecord {
  wamid: string;
  status: WaStatus | string;
  timestamp: number;
  deliveryId?: number | undefined;
  errorCode?: number | undefined;
  errorTitle?: string | undefined;
}

const RANK: Record<string, number> = { sent: 1, failed: 2, delivered: 3, read: 4 };

/** Stores one status; true when it was new. Also settles an uncertain send and wakes the delivery. */
export async function recordStatus(knex: Knex, s: StatusRecord, now: number): Promise<boolean> {
  if (!(s.status in RANK)) return false; // e.g. "played" (voice): nothing to do for us
  const inserted = (await knex('whatsapp_statuses')
    .insert({ wamid: s.wamid, status: s.status, delivery_id: s.deliveryId ?? null, error_code: s.errorCode ?? null, error_title: s.errorTitle ?? null, status_at: s.timestamp, received_at: now })
    .onConflict(['wamid', 'status']).ignore()
    .returning('id')) as unknown[];
  if (inserted.length === 0) return false;
  // A send whose HTTP answer was lost is proven accepted by any status echoing our delivery id.
  if (s.deliveryId && s.status !== 'failed') {
    await knex('deliveries').where({ id: s.deliveryId, channel: 'whatsapp', state: 'uncertain' })
      .update({ state: 'accepted', provider_id: s.wamid, sent_at: s.timestamp, next_attempt_at: now, reason: 'send confirmed by a WhatsApp status webhook', updated_at: now });
  }
  // Wake the delivery so the dispatcher records the outcome now rather than at its next poll.
  await knex('deliveries').where({ provider_id: s.wamid, channel: 'whatsapp', state: 'accepted' })
    .where((q) => q.whereNull('lease_until').orWhere('lease_until', '<', now))
    .update({ next_attempt_at: now });
  return true;
}

export async function highestStatus(knex: Knex, wamid: string): Promise<{ status: WaStatus; errorCode?: number; errorTitle?: string } | null> {
  const rows = (await knex('whatsapp_statuses').where({ wamid }).select('status', 'error_code', 'error_title')) as { status: WaStatus; error_code: number | null; error_title: string | null }[];
  if (rows.length === 0) return null;
  const best = rows.reduce((a, b) => ((RANK[b.status] ?? 0) > (RANK[a.status] ?? 0) ? b : a));
  return { status: best.status, ...(best.error_code != null ? { errorCode: best.error_code } : {}), ...(best.error_title ? { errorTitle: best.error_title } : {}) };
}

/** The wamid that a non-failed status webhook tied to our delivery id, if one arrived. */
export async function wamidOfDelivery(knex: Knex, deliveryId: number): Promise<string | null> {
  const row = await knex('whatsapp_statuses').where({ delivery_id: deliveryId }).whereNot('status', 'failed').first('wamid');
  return row ? String(row.wamid) : null;
}
