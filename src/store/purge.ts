// Retention: the ledger is permanent, its personal content is not. Once every delivery of an event
// is final and the last one finished more than `days` ago, the event keeps only what dedup and
// history need (dedup key, type, entity, route, delivery states, timestamps, provider ids, reasons)
// and loses the rest: payload, phone, fiscal code, WhatsApp address, attempts log, WhatsApp statuses.
// Inbound WhatsApp messages older than the retention are deleted, number and text (they are kept
// only to drop Meta's repeated webhooks, which come within days), and so are replies to them older
// than it, from the reply outbox. Everything runs in chunks of a
// few hundred ids, one short transaction each, so a large store is never locked for long.
import type { Knex } from 'knex';
import { TERMINAL_STATES } from './states.js';
import { withoutQueryTimeout } from './query-timeout.js';

/** What replaces the fiscal code (the column is NOT NULL, 16 chars): the shape, never a real code. */
export const PURGED_FISCAL_CODE = '****************';

export interface PurgeOptions {
  now: number;
  days: number;
  /** Count what would be purged; change nothing. */
  dryRun?: boolean;
  /** Ids per statement (default 500). */
  chunkSize?: number;
}

export interface PurgeResult {
  dryRun: boolean;
  /** Epoch ms: deliveries finished and inbound messages received before this are purged. */
  cutoff: number;
  /** Events whose payload, phone and fiscal code were removed. */
  events: number;
  /** Deliveries whose channel address (a WhatsApp number) was removed. */
  addresses: number;
  /** Rows deleted from the attempts log. */
  attempts: number;
  /** WhatsApp status webhooks deleted. */
  whatsappStatuses: number;
  /** Inbound WhatsApp messages deleted (their number and text). */
  inbound: number;
  /** Replies to citizens deleted from the reply outbox (they hold the number and the text). */
  replies: number;
}

const DAY_MS = 86_400_000;
/** How long Meta may repeat a webhook: inbound messages are kept at least this long to drop the repeats. */
const INBOUND_DEDUP_DAYS = 7;

export function purge(knex: Knex, opts: PurgeOptions): Promise<PurgeResult> {
  // Exempt from store.queryTimeoutSeconds: the chunks' transactions are short, but finding the
  // next chunk in a large ledger where little qualifies may scan for longer than that. (Cut all
  // the same once PostgreSQL no longer works on the statement: QueryBound.working.)
  return withoutQueryTimeout(() => purgeChunks(knex, opts));
}

async function purgeChunks(knex: Knex, opts: PurgeOptions): Promise<PurgeResult> {
  if (!Number.isInteger(opts.days) || opts.days < 1) throw new Error(`purge: retention days must be a whole number ≥ 1, not ${opts.days}`);
  const cutoff = opts.now - opts.days * DAY_MS;
  const size = opts.chunkSize ?? 500;
  const dryRun = opts.dryRun ?? false;
  const r: PurgeResult = { dryRun, cutoff, events: 0, addresses: 0, attempts: 0, whatsappStatuses: 0, inbound: 0, replies: 0 };

  // Keyset paging over events.id: each chunk query resumes where the last one stopped.
  for (let after = 0; ;) {
    const ids = (await finishedEvents(knex, cutoff).where('events.id', '>', after).orderBy('events.id').limit(size).pluck('events.id')).map(Number);
    if (ids.length === 0) break;
    after = ids[ids.length - 1]!;
    const counts = dryRun ? await countEvents(knex, ids) : await knex.transaction((trx) => purgeEvents(trx, ids, cutoff));
    r.events += counts.events;
    r.addresses += counts.addresses;
    r.attempts += counts.attempts;
    r.whatsappStatuses += counts.whatsappStatuses;
  }

  // Kept 7 days at least whatever the retention: Meta retries a webhook for up to 7 days, and a
  // repeated "ISCRIVIMI" whose row was gone would be handled again.
  const inboundCutoff = Math.min(cutoff, opts.now - INBOUND_DEDUP_DAYS * DAY_MS);
  for (let after = ''; ;) {
    const ids = (await oldInbound(knex, inboundCutoff).where('id', '>', after).orderBy('id').limit(size).pluck('id')).map(String);
    if (ids.length === 0) break;
    after = ids[ids.length - 1]!;
    r.inbound += dryRun ? ids.length : await oldInbound(knex, inboundCutoff).whereIn('id', ids).del();
  }

  const oldReplies = () => knex('reply_outbox').where('created_at', '<', cutoff);
  if (dryRun) r.replies = await countRows(oldReplies());
  else {
    for (;;) {
      const ids = (await oldReplies().orderBy('id').limit(size).pluck('id')).map(Number);
      if (ids.length === 0) break;
      r.replies += await knex('reply_outbox').whereIn('id', ids).del();
    }
  }
  return r;
}

/**
 * Events not purged yet, with every delivery final and finished before the cutoff. An event
 * without deliveries counts from its creation. finished_at is set on every final transition;
 * updated_at covers a row written without it.
 */
function finishedEvents(knex: Knex, cutoff: number) {
  return knex('events')
    .where('events.created_at', '<', cutoff)
    .where((q) => q.whereNotNull('events.payload').orWhereNotNull('events.phone').orWhere('events.fiscal_code', '<>', PURGED_FISCAL_CODE))
    .whereNotExists(knex('deliveries as d').select(knex.raw('1')).whereRaw('d.event_id = events.id')
      .where((q) => q.whereNotIn('d.state', TERMINAL_STATES as string[]).orWhereRaw('coalesce(d.finished_at, d.updated_at) >= ?', [cutoff])));
}

function oldInbound(knex: Knex, cutoff: number) {
  return knex('inbound_messages').where('received_at', '<', cutoff);
}

type EventCounts = Pick<PurgeResult, 'events' | 'addresses' | 'attempts' | 'whatsappStatuses'>;

/**
 * A citizen's erasure: the broadcasts sent to this number lose it now instead of at retention, as
 * the purge would take them (payload, number, WhatsApp address, attempts log, status webhooks).
 * Only events whose deliveries are all final: one still with WhatsApp keeps its number until retention.
 */
export async function purgeBroadcastsTo(trx: Knex.Transaction, phone: string, now: number): Promise<number> {
  // Through the deliveries' address index: events has none on the number (a scan of the ledger).
  const ids = (await trx('events').whereIn('id', trx('deliveries').select('event_id').where({ channel: 'whatsapp', address: phone }))
    .where({ type: 'broadcast', phone }).pluck('id')).map(Number);
  if (ids.length === 0) return 0;
  return (await purgeEvents(trx, ids, now + 1)).events;
}

async function purgeEvents(trx: Knex.Transaction, ids: number[], cutoff: number): Promise<EventCounts> {
  // The conditions are checked again in the UPDATE: an operator may have resent one of these
  // deliveries, or another process purged them, since the chunk was read.
  const purged = ((await finishedEvents(trx, cutoff).whereIn('events.id', ids)
    .update({ payload: null, phone: null, fiscal_code: PURGED_FISCAL_CODE })
    .returning('id')) as { id: number }[]).map((e) => Number(e.id));
  if (purged.length === 0) return { events: 0, addresses: 0, attempts: 0, whatsappStatuses: 0 };
  const addresses = await trx('deliveries').whereIn('event_id', purged).whereNotNull('address').update({ address: null });
  const attempts = await trx('delivery_attempts').whereIn('delivery_id', deliveriesOf(trx, purged)).del();
  const statuses = await whatsappStatusesOf(trx, purged);
  const whatsappStatuses = statuses ? await statuses().del() : 0;
  return { events: purged.length, addresses, attempts, whatsappStatuses };
}

async function countRows(q: Knex.QueryBuilder): Promise<number> {
  return Number(((await q.count({ n: '*' })) as { n: number | string }[])[0]?.n ?? 0);
}

async function countEvents(knex: Knex, ids: number[]): Promise<EventCounts> {
  const statuses = await whatsappStatusesOf(knex, ids);
  return {
    events: ids.length,
    addresses: await countRows(knex('deliveries').whereIn('event_id', ids).whereNotNull('address')),
    attempts: await countRows(knex('delivery_attempts').whereIn('delivery_id', deliveriesOf(knex, ids))),
    whatsappStatuses: statuses ? await countRows(statuses()) : 0,
  };
}

function deliveriesOf(knex: Knex, eventIds: number[]) {
  return knex('deliveries').select('id').whereIn('event_id', eventIds);
}

/**
 * The status webhooks of these events' WhatsApp deliveries: by message id (indexed), or by the
 * delivery id Meta echoed back (the only link for a send that was resent after being uncertain).
 * null when the events have no WhatsApp delivery, so the common case touches nothing. Returned as
 * a builder factory: a query builder is thenable, and awaiting one would run it.
 */
async function whatsappStatusesOf(knex: Knex, eventIds: number[]): Promise<(() => Knex.QueryBuilder) | null> {
  const wa = (await knex('deliveries').whereIn('event_id', eventIds).where('channel', 'whatsapp').select('id', 'provider_id')) as { id: number; provider_id: string | null }[];
  if (wa.length === 0) return null;
  const wamids = wa.flatMap((d) => (d.provider_id ? [d.provider_id] : []));
  return () => knex('whatsapp_statuses').where((q) => {
    q.whereIn('delivery_id', wa.map((d) => Number(d.id)));
    if (wamids.length) q.orWhereIn('wamid', wamids);
  });
}
