// Operator actions on single deliveries: look, resend, cancel, confirm. They go through the same
// state machine as the dispatcher, and refuse to touch a delivery a process is working on.
import type { Knex } from 'knex';
import { canTransition, type DeliveryState } from './states.js';
import type { DeliveryRow, EventRow } from './rows.js';
import { withoutQueryTimeout } from './query-timeout.js';

export interface DeliveryDetail {
  delivery: DeliveryRow;
  event: EventRow;
  attempts: Array<{ kind: string; started_at: number; duration_ms: number; outcome: string; http_status: number | null; error: string | null }>;
  /** A WhatsApp message's status webhooks (sent, delivered, read, failed), in the order they happened. */
  statuses?: Array<{ status: string; status_at: number; error_code: number | null; error_title: string | null }>;
}

/** What `ponte deliveries` narrows to; a citizen by fiscal code or by number (E.164), as stored. */
export interface DeliveryFilter {
  state?: string;
  limit?: number;
  fiscalCode?: string;
  phone?: string;
  connector?: string;
  type?: string;
  channel?: string;
}

export async function listDeliveries(knex: Knex, opts: DeliveryFilter = {}): Promise<Array<DeliveryRow & { dedup_key: string; type: string; instance_id: string }>> {
  const q = knex('deliveries as d').join('events as e', 'e.id', 'd.event_id')
    .select('d.*', 'e.dedup_key', 'e.type', 'e.instance_id')
    .orderBy('d.id', 'desc').limit(opts.limit ?? 50);
  if (opts.state) q.where('d.state', opts.state);
  if (opts.connector) q.where('e.instance_id', opts.connector);
  if (opts.type) q.where('e.type', opts.type);
  if (opts.channel) q.where('d.channel', opts.channel);
  // No index on these (one would slow every ingest for a helpdesk lookup): a scan of the ledger.
  if (opts.fiscalCode) q.where('e.fiscal_code', opts.fiscalCode);
  // A WhatsApp delivery keeps its number in its address; an event's phone is the back-office's.
  if (opts.phone) q.where((w) => w.where('e.phone', opts.phone!).orWhere('d.address', opts.phone!));
  // That scan may take longer than store.queryTimeoutSeconds on a large ledger: a bound meant for
  // frozen connections would cut an operator's lookup short as "the store did not answer" (and
  // leave PostgreSQL scanning for nobody). An operator at a terminal can interrupt it.
  if (opts.fiscalCode || opts.phone) return withoutQueryTimeout(() => q);
  return q;
}

export async function deliveryDetail(knex: Knex, id: number): Promise<DeliveryDetail | null> {
  const delivery = (await knex('deliveries').where({ id }).first()) as DeliveryRow | undefined;
  if (!delivery) return null;
  const event = (await knex('events').where({ id: delivery.event_id }).first()) as EventRow;
  const attempts = await knex('delivery_attempts').where({ delivery_id: id }).orderBy('id')
    .select('kind', 'started_at', 'duration_ms', 'outcome', 'http_status', 'error');
  if (delivery.channel !== 'whatsapp' || !delivery.provider_id) return { delivery, event, attempts };
  // Meta's word on the message: the dispatcher's own status reads above only look these up.
  const statuses = (await knex('whatsapp_statuses').where({ wamid: delivery.provider_id })
    .select('status', 'status_at', 'error_code', 'error_title')) as NonNullable<DeliveryDetail['statuses']>;
  const rank: Record<string, number> = { sent: 1, delivered: 2, read: 3, failed: 4 };
  statuses.sort((a, b) => Number(a.status_at) - Number(b.status_at) || (rank[a.status] ?? 0) - (rank[b.status] ?? 0));
  return { delivery, event, attempts, statuses };
}

export type OperatorAction = 'resend' | 'cancel' | 'confirm';

/** Why a resend of an accepted message needs --force, and what to check first. */
function alreadyAccepted(d: DeliveryRow): string {
  return [
    `delivery ${d.id} is ${d.state}, but ${d.channel} accepted it as message ${d.provider_id}: it may already have reached the citizen,`,
    '  and a resend would send a second copy (IO has no idempotency key; see the README, "The uncertain case").',
    `  Check first: \`ponte delivery show ${d.id}\` (last error and status checks), the message's status with the provider`,
    `  (${d.channel === 'appio' ? `IO: GET /messages/{fiscal_code}/${d.provider_id}` : `WhatsApp: the status webhooks for ${d.provider_id}`}), or the citizen.`,
    `  If it did not arrive: ponte delivery resend ${d.id} --force --note "why"`,
  ].join('\n');
}

const PROVIDER_ID: Record<string, { shape: RegExp; what: string }> = {
  appio: { shape: /^[0-9A-HJKMNP-TV-Z]{26}$/i, what: 'an IO message id (26 characters, e.g. 01HQXK5Y3ZM8N9P2R4S6T8V0W1)' },
  whatsapp: { shape: /^wamid\.[A-Za-z0-9+/=_-]{8,}$/, what: 'a WhatsApp message id (wamid.…)' },
};

const TARGET: Record<OperatorAction, DeliveryState> = { resend: 'pending', cancel: 'cancelled', confirm: 'accepted' };

/**
 * resend: uncertain/failed/dead/skipped → pending (due now). For an uncertain one this is the
 * operator's decision that the citizen did not get it: the one place a resend is allowed. One the
 * provider had accepted (it has a provider id) needs `force`.
 * cancel: pending/uncertain → cancelled. confirm: uncertain → accepted with the provider's id
 * (the operator found the message), after which its status is polled as usual.
 */
export async function operatorAction(knex: Knex, id: number, action: OperatorAction, opts: { now?: number; providerId?: string; note?: string; force?: boolean } = {}): Promise<DeliveryState> {
  const now = opts.now ?? Date.now();
  const d = (await knex('deliveries').where({ id }).first()) as DeliveryRow | undefined;
  if (!d) throw new Error(`delivery ${id} does not exist`);
  const to = TARGET[action];
  const refuse = (why: string) => new Error(`delivery ${id} is ${d.state}: cannot ${action} it (${why})`);
  if (!canTransition(d.state, to) || (action === 'cancel' && !['pending', 'uncertain'].includes(d.state))) throw refuse('not allowed from this state');
  if (d.lease_until != null && d.lease_until > now) throw refuse('a Ponte process is working on it right now; try again in a minute');
  if (action === 'confirm' && !opts.providerId) throw new Error('confirm needs the provider message id (--provider-id)');
  // A mistyped id would be polled, answered 404, and end the delivery FAILED: refuse what cannot be
  // the channel's message id (IO: a 26-character ULID; WhatsApp: a wamid).
  if (action === 'confirm' && !PROVIDER_ID[d.channel]?.shape.test(opts.providerId!.trim())) {
    throw new Error(`delivery ${id}: "${opts.providerId}" is not ${PROVIDER_ID[d.channel]?.what ?? `a ${d.channel} message id`}; nothing was changed`);
  }
  // A provider id means the provider took the message (e.g. failed only because its status could
  // not be read afterwards): the citizen may have it, and IO has no idempotency key, so a resend
  // is a likely second copy. Only on purpose, after checking.
  if (action === 'resend' && d.provider_id != null && !opts.force) throw new Error(alreadyAccepted(d));
  if (action === 'resend') {
    const ev = await knex('events').where({ id: d.event_id }).first('payload');
    if (ev && ev.payload == null) throw refuse('its content was purged after the retention period; nothing is left to send');
  }
  const note = opts.note ? `: ${opts.note}` : '';
  const patch: Record<string, unknown> = { state: to, updated_at: now, lease_token: null, lease_until: null };
  // A resend starts a fresh retry budget: the operator asked for it to be tried again, fully.
  if (action === 'resend') Object.assign(patch, { next_attempt_at: now, attempts: 0, reason: `resent by an operator${note}` });
  if (action === 'cancel') Object.assign(patch, { reason: `cancelled by an operator${note}`, finished_at: now });
  if (action === 'confirm') Object.assign(patch, { provider_id: opts.providerId, sent_at: now, polls: 0, next_attempt_at: now, reason: `confirmed as sent by an operator${note}` });
  if (action === 'confirm') patch.provider_id = opts.providerId!.trim();
  await knex.transaction(async (trx) => {
    const n = await trx('deliveries').where({ id, state: d.state }).where((q) => q.whereNull('lease_until').orWhere('lease_until', '<=', now)).update(patch);
    if (n !== 1) throw refuse('it changed meanwhile');
    // The operator's decision is part of the delivery's history (`delivery show`), beside the
    // provider calls: the reason column alone is overwritten by whatever comes next.
    await trx('delivery_attempts').insert({ delivery_id: id, kind: 'operator', started_at: now, duration_ms: 0, outcome: action, error: `${d.state} → ${to}${action === 'confirm' ? ` as message ${patch.provider_id as string}` : ''}${note}` });
  });
  return to;
}
