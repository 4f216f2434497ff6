// `ponte poll <id> --dry-run`: what a poll would store and send, touching nothing — the events,
// the row errors, and the exact request each channel would make.
import type { Logger } from 'pino';
import type { Knex } from 'knex';
import type { Channel, DescribedRequest } from '../channels/channel.js';
import type { ConnectorInstance } from './registry.js';
import type { RowError, Cancellation } from './contract.js';
import { routeFor, type StoredRoute } from './routing.js';
import { prepareBatch } from './prepare-batch.js';
import { pendingEntities } from '../store/pending-entities.js';
import { readCursor } from '../store/lease.js';
import { compareRowKeys } from '../util/row-key-order.js';

export interface DryRunEvent {
  key: string;
  type: string;
  entity?: string;
  notBefore?: string;
  expiresAt?: string;
  /** Its dedup key is already in the store's ledger: a real poll would not send it again. */
  alreadyInLedger?: true;
  /** Every channel of the event's route, in order, with the routing rule that would use it. */
  /** `notEligible`: a check the channel makes locally (WhatsApp's opt-in) would skip it as the store stands now. */
  sends: Array<{ channel: string; routing: string; request?: DescribedRequest; error?: string; notEligible?: string }>;
}

export interface DryRunReport {
  connector: string;
  events: DryRunEvent[];
  cancellations: Cancellation[];
  rowErrors: RowError[];
  cursor?: unknown;
}

export async function dryRun(instance: ConnectorInstance, deps: { knex?: Knex; channels: Map<string, Channel>; log: Logger; now?: number }): Promise<DryRunReport> {
  const now = deps.now ?? Date.now();
  const def = instance.definition;
  // Read-only use of the store when it exists; a fresh machine has none, and that is fine.
  const safe = async <T>(fn: () => Promise<T>, fallback: T): Promise<T> => { try { return await fn(); } catch { return fallback; } };
  const cursor = deps.knex && def.shape === 'incremental' ? await safe(() => readCursor(deps.knex!, instance.id), undefined) : undefined;
  const pending = deps.knex && def.shape === 'window' ? await safe(() => pendingEntities(deps.knex!, instance.id), [] as string[]) : [];
  const report: DryRunReport = { connector: instance.id, events: [], cancellations: [], rowErrors: [] };
  const signal = new AbortController().signal;
  const columns = def.columnsOf?.(instance.config);

  for await (const batch of def.poll({ instanceId: instance.id, config: instance.config, cursor, now: new Date(now), log: deps.log, pendingEntities: pending, pendingEntitiesNow: () => (deps.knex ? safe(() => pendingEntities(deps.knex!, instance.id), [] as string[]) : Promise.resolve([])), signal })) {
    const prepared = await prepareBatch(batch, { definition: def, channels: deps.channels, routeFor: (type) => routeFor(instance.settings, type), now, columns });
    report.rowErrors.push(...prepared.rowErrors);
    report.cancellations.push(...(batch.cancellations ?? []));
    if (batch.cursor !== undefined) report.cursor = batch.cursor;
    for (const [i, e] of prepared.events.entries()) {
      const sends: DryRunEvent['sends'] = [];
      const route = e.route as StoredRoute;
      for (const [j, d] of route.steps.entries()) {
        const channel = deps.channels.get(d.channel);
        const routing = route.mode === 'all' ? 'mode all: sent on every channel'
          : j === 0 ? 'first choice' : `if ${route.steps[j - 1]!.channel} cannot deliver (not eligible, or rejected)`;
        if (!channel) { sends.push({ channel: d.channel, routing, error: `channel ${d.channel} is not configured` }); continue; }
        const ctx = {
          deliveryId: 0, attempt: 1, options: d.options,
          event: { id: i, key: e.key, type: e.type, recipient: { fiscalCode: e.fiscalCode, ...(e.phone ? { phone: e.phone } : {}), ...(e.language ? { language: e.language } : {}) }, data: e.data, ...(e.expiresAt ? { expiresAt: new Date(e.expiresAt) } : {}) },
        };
        try {
          const request = channel.describeSend(ctx, channel.render(ctx, e.language));
          // A number without an opt-in is skipped at send time: say so rather than show a request
          // that will not be made. Only a local check (no provider call); unreadable → no note.
          const eligible = deps.knex && channel.localCheck ? await safe(() => channel.checkRecipient(ctx), undefined) : undefined;
          sends.push({ channel: d.channel, routing, request, ...(eligible && !eligible.ok ? { notEligible: eligible.reason } : {}) });
        } catch (err) {
          sends.push({ channel: d.channel, routing, error: (err as Error).message });
        }
      }
      report.events.push({
        key: e.key, type: e.type, ...(e.entity ? { entity: e.entity } : {}),
        ...(e.notBefore ? { notBefore: new Date(e.notBefore).toISOString() } : {}),
        ...(e.expiresAt ? { expiresAt: new Date(e.expiresAt).toISOString() } : {}),
        sends,
      });
    }
  }
  // "What a poll would make": an event already in the ledger would be found there and not sent.
  if (deps.knex && report.events.length) {
    const known = new Set<string>();
    const keys = report.events.map((e) => e.key);
    for (let i = 0; i < keys.length; i += 500) {
      for (const k of (await safe(() => deps.knex!('events').whereIn('dedup_key', keys.slice(i, i + 500)).pluck('dedup_key'), [] as string[]))) known.add(String(k));
    }
    for (const e of report.events) if (known.has(e.key)) e.alreadyInLedger = true;
  }
  // Read order mixes the connector's errors with the runner's (16, 19, 15 …): by row key, a
  // person finds a row, and sees its errors together.
  report.rowErrors.sort((a, b) => compareRowKeys(a.rowKey, b.rowKey));
  return report;
}
