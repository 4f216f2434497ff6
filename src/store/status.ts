// What `ponte status` shows: deliveries by channel and state, each connector's last run, what
// needs an operator (uncertain, dead, row errors) and how late the oldest due work is.
import type { Knex } from 'knex';
import { DELIVERY_STATES, type DeliveryState } from './states.js';
import { unsentReplies } from './reply-outbox.js';
import { deliveryCounts, oldestDueAt } from './delivery-counts.js';
import { ATTENTION_SQL, FALLBACK_SQL } from '../../migrations/20261204_007_status_indexes.js';
import { compareRowKeys } from '../util/row-key-order.js';
import { parseAlertKey } from './channel-alerts.js';
import { HEARTBEAT_MS, listProcesses } from './processes.js';
import { UNSENT_WINDOW_DAYS, unsentReasons, type UnsentReasons } from './unsent-reasons.js';

/** A process that missed this many heartbeats in a row is reported as gone (stopped or killed). */
const MISSED_BEATS = 3;

export interface StatusReport {
  generatedAt: string;
  deliveries: Record<string, Partial<Record<DeliveryState, number>>>;
  totals: Partial<Record<DeliveryState, number>>;
  events: number;
  connectors: Array<{
    id: string;
    lastRunAt: string | null;
    lastRunStatus: string | null;
    lastRunError: string | null;
    leaseHeldBy: string | null;
    /** While a poll runs: when it started (the holder's running run) and until when its lease holds. */
    leaseSince: string | null;
    leaseUntil: string | null;
    lastRun: { eventsNew: number; duplicates: number; cancelled: number; rowErrors: number; rowsRead: number } | null;
  }>;
  rowErrors: Array<{ connector: string; rowKey: string; field: string; message: string; seen: number; lastSeen: string }>;
  attention: Array<{ delivery: number; event: string; channel: string; state: DeliveryState; reason: string | null; lastError: string | null }>;
  oldestDueSeconds: number | null;
  /** Channels stopped by their provider (revoked token, blocked account): nothing goes out there. */
  /** `part`: the one part of the channel halted (an IO service whose key IO refused); absent: all of it. */
  alerts: Array<{ channel: string; part?: string; reason: string; code: string | null; since: string }>;
  /** Routing decisions: deliveries made because an earlier channel could not deliver. */
  fallbacks: Array<{ delivery: number; event: string; channel: string; state: DeliveryState; reason: string }>;
  consents: { optedIn: number; optedOut: number };
  /** Replies to citizens on WhatsApp not sent: waiting for the sweep, refused for good, or dropped as stale. */
  replies: { waiting: number; failed: number; stale: number };
  /**
   * The `ponte run` processes the store knows (their heartbeats share the IO budget): alive while
   * they heartbeat; a stopped or killed one stays listed, as gone, up to an hour. `polling`: the
   * connectors whose lease it holds now.
   */
  processes: Array<{ owner: string; startedAt: string; lastHeartbeat: string; alive: boolean; polling: string[] }>;
  /** Why deliveries did not go out: the top reasons of those that ended rejected, failed or dead lately. */
  unsent: UnsentReasons;
}

const iso = (ms: number | null | undefined) => (ms == null ? null : new Date(Number(ms)).toISOString());

// Each reads a partial index by its own predicate (migration 007): the latest few rows, not a
// scan of the ledger. Exported for the test that checks their plans.
/** The latest deliveries that need an operator. */
export function attentionQuery(knex: Knex, limit = 50): Knex.QueryBuilder {
  return knex('deliveries as d').join('events as e', 'e.id', 'd.event_id')
    .whereRaw(`d.${ATTENTION_SQL}`)
    .orderBy('d.updated_at', 'desc').limit(limit)
    .select('d.id', 'e.dedup_key', 'd.channel', 'd.state', 'd.reason', 'd.last_error');
}

/** The latest deliveries made because an earlier channel could not deliver. */
export function fallbackQuery(knex: Knex, limit = 20): Knex.QueryBuilder {
  return knex('deliveries as d').join('events as e', 'e.id', 'd.event_id')
    .whereRaw(`d.${FALLBACK_SQL}`).orderBy('d.id', 'desc').limit(limit)
    .select('d.id', 'e.dedup_key', 'd.channel', 'd.state', 'd.reason');
}

export async function statusReport(knex: Knex, now = Date.now(), unsentDays = UNSENT_WINDOW_DAYS): Promise<StatusReport> {
  const deliveries: StatusReport['deliveries'] = {};
  const totals: StatusReport['totals'] = {};
  for (const [channel, byState] of await deliveryCounts(knex)) {
    for (const [state, n] of byState) {
      (deliveries[channel] ??= {})[state] = n;
      totals[state] = (totals[state] ?? 0) + n;
    }
  }
  const [{ n: events } = { n: 0 }] = (await knex('events').count({ n: '*' })) as { n: number | string }[];

  const states = (await knex('connector_state').select('*').orderBy('instance_id')) as Record<string, unknown>[];
  const connectors: StatusReport['connectors'] = [];
  for (const s of states) {
    const held = s.lease_expires_at != null && Number(s.lease_expires_at) > now;
    // The holder's run still marked running is the poll the lease is for: its start is "since when".
    const running = held ? await knex('connector_runs').where({ instance_id: s.instance_id, owner: s.lease_owner, status: 'running' }).orderBy('id', 'desc').first('started_at') : undefined;
    const last = await knex('connector_runs').where({ instance_id: s.instance_id }).whereNot('status', 'running').orderBy('id', 'desc').first();
    connectors.push({
      id: String(s.instance_id),
      lastRunAt: iso(s.last_run_at as number | null),
      lastRunStatus: (s.last_run_status as string | null) ?? null,
      lastRunError: (s.last_run_error as string | null) ?? null,
      leaseHeldBy: held ? String(s.lease_owner) : null,
      leaseSince: iso(running?.started_at as number | undefined),
      leaseUntil: held ? iso(s.lease_expires_at as number) : null,
      lastRun: last ? { eventsNew: last.events_new, duplicates: last.events_duplicate, cancelled: last.cancelled, rowErrors: last.row_errors, rowsRead: last.rows_read } : null,
    });
  }

  // The 50 seen last, shown by connector and row key: in last-seen order one poll's rows came out
  // shuffled (16, 19, 15 …), and a person looks a row up by its key.
  const rowErrors = ((await knex('row_errors').orderBy('last_seen', 'desc').limit(50)) as Record<string, unknown>[]).map((r) => ({
    connector: String(r.instance_id), rowKey: String(r.row_key), field: String(r.field), message: String(r.message), seen: Number(r.seen), lastSeen: iso(r.last_seen as number)!,
  })).sort((a, b) => a.connector.localeCompare(b.connector) || compareRowKeys(a.rowKey, b.rowKey));

  const attention = ((await attentionQuery(knex)) as Record<string, unknown>[]).map((r) => ({
    delivery: Number(r.id), event: String(r.dedup_key), channel: String(r.channel), state: r.state as DeliveryState, reason: (r.reason as string | null) ?? null, lastError: (r.last_error as string | null) ?? null,
  }));

  const alerts = ((await knex('channel_alerts').select('*')) as Record<string, unknown>[]).map((a) => ({
    ...parseAlertKey(String(a.channel)), reason: String(a.reason), code: (a.code as string | null) ?? null, since: iso(a.since as number)!,
  }));
  const fallbacks = ((await fallbackQuery(knex)) as Record<string, unknown>[]).map((r) => ({
    delivery: Number(r.id), event: String(r.dedup_key), channel: String(r.channel), state: r.state as DeliveryState, reason: String(r.reason ?? ''),
  }));
  const consentRows = (await knex('consents').select('state').count({ n: '*' }).groupBy('state')) as { state: string; n: number | string }[];
  const consents = {
    optedIn: Number(consentRows.find((c) => c.state === 'opted_in')?.n ?? 0),
    optedOut: Number(consentRows.find((c) => c.state === 'opted_out')?.n ?? 0),
  };

  const unsent = await unsentReplies(knex);
  const replies = { waiting: (unsent.get('pending') ?? 0) + (unsent.get('sending') ?? 0), failed: unsent.get('failed') ?? 0, stale: unsent.get('stale') ?? 0 };

  const processes = (await listProcesses(knex, now)).map((p) => ({
    owner: p.owner,
    startedAt: iso(p.startedAt)!,
    lastHeartbeat: iso(p.heartbeatAt)!,
    alive: now - p.heartbeatAt <= MISSED_BEATS * HEARTBEAT_MS,
    polling: connectors.filter((c) => c.leaseHeldBy === p.owner).map((c) => c.id),
  }));

  const t = await oldestDueAt(knex, now);
  return {
    generatedAt: new Date(now).toISOString(),
    deliveries,
    totals,
    events: Number(events),
    connectors,
    rowErrors,
    attention,
    oldestDueSeconds: t == null ? null : Math.max(0, Math.round((now - t) / 1000)),
    alerts,
    fallbacks,
    consents,
    replies,
    processes,
    unsent: await unsentReasons(knex, now, unsentDays),
  };
}

export { DELIVERY_STATES };
