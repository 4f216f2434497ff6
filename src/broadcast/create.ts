// From a validated broadcast to one event per (broadcast, citizen) in the ordinary ledger, with
// one WhatsApp delivery each: the dispatcher, retries, statuses, quiet hours and the operator's
// resend/cancel tools then work exactly as for reminders. Fan-out is idempotent: creating the same
// key again (after a crash midway) adds only the citizens not yet in the ledger.
import type { Knex } from 'knex';
import { recipientPseudonyms } from '../store/store-meta.js';
import { broadcastInstance } from '../store/topic-subscriptions.js';
import { commitBatch, type NewEvent } from '../store/commit-batch.js';
import type { CitizenService } from '../citizen/service/index.js';
import { topicSubscribers, inSegment, countBy, type Recipient } from './audience.js';
import { bookedPerDay, readMessagingLimit } from './messaging-limit.js';
import { planDays } from './plan.js';
import { quietUntil, type QuietHours } from '../dispatch/quiet-hours.js';
import { TERMINAL_STATES, type DeliveryState } from '../store/states.js';
import { validateBroadcast, type BroadcastRequest, type CitizenServiceSettings } from './validate.js';
import type { ApprovedTemplates } from '../config/whatsapp-templates.js';

const DAY = 86_400_000;
const CHUNK = 500;

export interface BroadcastDeps {
  knex: Knex;
  service: CitizenService;
  settings: CitizenServiceSettings;
  /** channels.whatsapp.templates: the only templates a broadcast may use. */
  templates: ApprovedTemplates;
  phoneNumberId: string;
  quietHours?: QuietHours | undefined;
  /** The zone quiet hours are read in: the dispatcher's (config timeZone). */
  timeZone?: string;
  now?: number;
}

export interface BroadcastPlan {
  audience: number;
  bySegment: Record<string, Record<string, number>>;
  /** Recipients per day, index 0 = from the start time. */
  days: number[];
  limit: { limit: number; tier: string };
  /** The exact Cloud API payload one recipient gets (the number masked). */
  payload: Record<string, unknown>;
  /** When the first sends may go: the requested time, moved to the end of the quiet hours if inside them. */
  startsAt: number;
  /** Set when quiet hours moved the start: the window and the time asked for. */
  quietHoursMoved: (QuietHours & { requestedAt: number }) | null;
  timeZone: string;
}

function templateOptions(template: string, language: string, params: string[]) {
  return { template, language, body: params.map((_, i) => `{{ p${i + 1} }}`) };
}

export async function planBroadcast(req: BroadcastRequest, deps: BroadcastDeps): Promise<BroadcastPlan & { recipients: Recipient[]; language: string }> {
  const now = deps.now ?? Date.now();
  const { language } = validateBroadcast(req, deps.service, deps.templates);
  const all = await topicSubscribers(deps.knex, req.topic);
  const recipients = all.filter((r) => inSegment(r, req.segment));
  const limit = await readMessagingLimit(deps.knex, deps.phoneNumberId);
  const requestedAt = Math.max(req.at ?? now, now);
  // The dispatcher holds a send due inside the quiet hours until they end (process-delivery.ts):
  // start the plan there, by the same rule, so the dry run, the day budgets and the stored
  // schedule say when messages really go.
  const timeZone = deps.timeZone ?? 'Europe/Rome';
  const quiet = req.urgent ? undefined : deps.quietHours;
  const until = quiet ? quietUntil(requestedAt, quiet, timeZone) : null;
  const startsAt = until ?? requestedAt;
  const quietHoursMoved = quiet && until !== null ? { ...quiet, requestedAt } : null;
  const booked = await bookedPerDay(deps.knex, startsAt, 3650);
  const days = planDays({ audience: recipients.length, limit: limit.limit, booked, reserve: deps.settings.reminderReserve });
  const attrs = Object.keys(deps.service.profile?.attributes ?? {});
  return {
    audience: recipients.length, bySegment: countBy(recipients, attrs), days, limit, startsAt, quietHoursMoved, timeZone, recipients, language,
    payload: {
      messaging_product: 'whatsapp', recipient_type: 'individual', to: '+39********', type: 'template',
      template: { name: req.template, language: { code: language, policy: 'deterministic' }, components: req.params.length ? [{ type: 'body', parameters: req.params.map((text) => ({ type: 'text', text })) }] : [] },
    },
  };
}

export interface CreatedBroadcast extends BroadcastPlan { id: number; created: number; alreadyThere: number }

export async function createBroadcast(req: BroadcastRequest, deps: BroadcastDeps): Promise<CreatedBroadcast> {
  const now = deps.now ?? Date.now();
  // One clock for the plan and the row: two Date.now() calls made a broadcast due now 'scheduled'.
  const plan = await planBroadcast(req, { ...deps, now });
  const existing = await deps.knex('broadcasts').where({ key: req.key }).first();
  if (existing?.status === 'cancelled') throw new Error(`broadcast "${req.key}" was cancelled; use a new key to send it again`);
  let id: number;
  if (existing) id = Number(existing.id);
  else {
    const [row] = await deps.knex('broadcasts').insert({
      key: req.key, topic: req.topic, category: deps.templates[req.template]!.category, template: req.template,
      language: plan.language, params: JSON.stringify(req.params), segment: req.segment ? JSON.stringify(req.segment) : null,
      urgent: Boolean(req.urgent), status: plan.startsAt > now ? 'scheduled' : 'sending', source: req.source,
      audience: plan.audience, days: Math.max(1, plan.days.length), scheduled_at: plan.startsAt, created_at: now,
    }).returning('id');
    id = Number(typeof row === 'object' ? (row as { id: number }).id : row);
  }
  const options = templateOptions(req.template, plan.language, req.params);
  const data: Record<string, unknown> = { topic: req.topic, broadcast: id };
  req.params.forEach((p, i) => { data[`p${i + 1}`] = p; });
  // The recipient is named by a pseudonym: dedup keys outlive retention and erasure (migration 008).
  const pseudonym = await recipientPseudonyms(deps.knex);
  const route = { mode: 'first', steps: [{ channel: 'whatsapp', options }], ...(req.urgent || !deps.quietHours ? {} : { quietHours: deps.quietHours }) };
  // Recipient i goes on the day its position falls in; each day's sends start at the same hour.
  const dayOf: number[] = [];
  plan.days.forEach((n, d) => { for (let k = 0; k < n; k++) dayOf.push(d); });
  const events: NewEvent[] = plan.recipients.map((r, i) => {
    const notBefore = plan.startsAt + (dayOf[i] ?? 0) * DAY;
    return {
      key: `${req.key}:${pseudonym(r.phone)}`, type: 'broadcast', fiscalCode: '', phone: r.phone, data, notBefore,
      // An alert is worthless a day late; news may wait two.
      expiresAt: notBefore + (req.urgent ? 1 : 2) * DAY,
      route, deliveries: [{ channel: 'whatsapp', options, routeIndex: 0, address: r.phone }],
    };
  });
  let created = 0;
  let alreadyThere = 0;
  for (let i = 0; i < events.length; i += CHUNK) {
    const r = await commitBatch(deps.knex, { instanceId: broadcastInstance(req.topic), events: events.slice(i, i + CHUNK), cancellations: [], rowErrors: [], now });
    created += r.inserted;
    alreadyThere += r.duplicates;
  }
  return { ...plan, id, created, alreadyThere };
}

/** Stops what has not gone yet; what is already with WhatsApp stays as it is. */
export async function cancelBroadcast(knex: Knex, id: number, now = Date.now()): Promise<{ cancelled: number }> {
  const b = await knex('broadcasts').where({ id }).first();
  if (!b) throw new Error(`no broadcast ${id}`);
  return knex.transaction(async (trx) => {
    await trx('broadcasts').where({ id }).update({ status: 'cancelled', cancelled_at: now });
    const ids = broadcastEvents(trx, { topic: String(b.topic), key: String(b.key) }).select('id');
    const cancelled = await trx('deliveries').whereIn('event_id', ids).whereIn('state', ['pending'])
      .update({ state: 'cancelled', reason: `broadcast ${id} cancelled by an operator`, finished_at: now, updated_at: now, lease_token: null, lease_until: null });
    return { cancelled };
  });
}

/** A broadcast's events in the ledger: keys "<broadcast key>:<recipient's pseudonym>", a range on its unique index (";" follows ":"). */
export function broadcastEvents(knex: Knex, b: { topic: string; key: string }): Knex.QueryBuilder {
  return knex('events').where({ instance_id: broadcastInstance(b.topic) }).where('dedup_key', '>', `${b.key}:`).where('dedup_key', '<', `${b.key};`);
}

export type BroadcastStatus = 'scheduled' | 'sending' | 'done' | 'cancelled';

/**
 * A broadcast's status, from its deliveries (count per state). The row's own status is written at
 * creation and changed after only by an operator's cancel: the dispatcher finishes deliveries,
 * never the broadcast, so the row alone said "sending" for good.
 */
export function broadcastStatus(b: { status: string; scheduledAt: number }, deliveries: Record<string, number>, now: number): BroadcastStatus {
  if (b.status === 'cancelled') return 'cancelled';
  const open = Object.entries(deliveries).some(([state, n]) => n > 0 && !TERMINAL_STATES.includes(state as DeliveryState));
  if (!open) return 'done';
  return b.scheduledAt > now ? 'scheduled' : 'sending';
}

export function formatDuration(days: number[]): string {
  const n = days.length;
  return n <= 1 ? 'today (within the messaging limit)' : `${n} days (messaging limit)`;
}
