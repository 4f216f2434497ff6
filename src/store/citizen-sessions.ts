// Conversation state per citizen (citizen_sessions): the menu last shown, a pending question, the
// hand-off state and when the citizen last wrote (the 24-hour customer service window).
import type { Knex } from 'knex';

export type HandoffState = 'bot' | 'waiting_human' | 'human' | 'closed';

export interface CitizenSession {
  phone: string;
  /** Id of the menu last shown (config menu id or a "sys:" menu), to read "B" or "2" against it. */
  menu: string | null;
  /** A question awaiting an answer, e.g. { kind: 'profile', attribute: 'area' } or { kind: 'operatorOffer' }. */
  pending: Record<string, unknown> | null;
  handoff: HandoffState;
  handoffAt: number | null;
  lastInboundAt: number | null;
  updatedAt: number;
}

export async function getSession(knex: Knex, phone: string): Promise<CitizenSession | null> {
  const r = await knex('citizen_sessions').where({ phone }).first();
  if (!r) return null;
  return {
    phone: r.phone,
    menu: r.menu ?? null,
    pending: r.pending ? (JSON.parse(r.pending) as Record<string, unknown>) : null,
    handoff: r.handoff as HandoffState,
    handoffAt: r.handoff_at == null ? null : Number(r.handoff_at),
    lastInboundAt: r.last_inbound_at == null ? null : Number(r.last_inbound_at),
    updatedAt: Number(r.updated_at),
  };
}

/** Inserts or updates the given fields of a citizen's session. */
export async function saveSession(knex: Knex, phone: string, patch: Partial<Omit<CitizenSession, 'phone'>>, now: number): Promise<void> {
  const row: Record<string, unknown> = { updated_at: patch.updatedAt ?? now };
  if ('menu' in patch) row.menu = patch.menu;
  if ('pending' in patch) row.pending = patch.pending == null ? null : JSON.stringify(patch.pending);
  if ('handoff' in patch) row.handoff = patch.handoff;
  if ('handoffAt' in patch) row.handoff_at = patch.handoffAt;
  if ('lastInboundAt' in patch) row.last_inbound_at = patch.lastInboundAt;
  const updated = await knex('citizen_sessions').where({ phone }).update(row);
  if (updated === 0) {
    await knex('citizen_sessions').insert({ phone, handoff: 'bot', ...row }).onConflict('phone').merge(row);
  }
}

export async function deleteSession(knex: Knex, phone: string): Promise<number> {
  return knex('citizen_sessions').where({ phone }).delete();
}
