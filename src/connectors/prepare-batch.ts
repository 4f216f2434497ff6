// Turning what a connector emitted into what the store commits. Every event is checked here,
// once, for every connector: a bad event becomes a row error naming the row and the field, and
// the rest of the batch goes on.
import type { Batch, ColumnField, ConnectorDefinition, EmittedEvent, RowError } from './contract.js';
import type { NewDelivery, NewEvent } from '../store/commit-batch.js';
import { initialDeliveries, type StoredRoute } from './routing.js';
import type { Channel, DeliveryContext } from '../channels/channel.js';
import { ChannelError } from '../channels/channel.js';
import { checkFiscalCode, normalizeFiscalCode } from '../util/fiscal-code.js';
import { nextTurn, SLICE } from '../util/next-turn.js';

export interface PrepareDeps {
  definition: ConnectorDefinition;
  channels: Map<string, Channel>;
  routeFor: (eventType: string) => StoredRoute;
  now: number;
  /** definition.columnsOf(instance config): row errors on these fields name the column. */
  columns?: Partial<Record<ColumnField, string | null>> | undefined;
}

export interface Prepared {
  events: NewEvent[];
  rowErrors: RowError[];
}

function rowKeyOf(e: EmittedEvent): string {
  return e.rowKey ?? e.entity ?? e.key ?? '(no key)';
}

function hasNul(v: unknown): boolean {
  return typeof v === 'string' && v.includes('\0');
}

/**
 * Whether the key carries this event's own fiscal code or phone number (its digits, however the
 * key separates them). Keys are never purged, so the data would outlive retention and erasure.
 */
function personalDataIn(key: string, fiscalCode: string, phone: unknown): string | null {
  if (key.toUpperCase().includes(fiscalCode)) return 'fiscal code';
  if (phone === undefined || phone === null) return null;
  // The national number (without +39/0039): what a back-office most often stores. Not
  // libphonenumber here: this runs for every event of an ingest.
  const national = String(phone).replace(/\D/g, '').replace(/^(00)?39(?=\d{9,10}$)/, '');
  return national.length >= 6 && key.replace(/[\s.\-/]/g, '').includes(national) ? 'phone number' : null;
}

function instant(value: unknown, field: string): { ms?: number; error?: string } {
  if (value === undefined || value === null) return {};
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) return { error: `${field} is not a valid date` };
  return { ms: value.getTime() };
}

export async function prepareBatch(batch: Batch, deps: PrepareDeps): Promise<Prepared> {
  const rowErrors: RowError[] = [...(batch.errors ?? [])];
  const events: NewEvent[] = [];
  const seen = new Set<string>();
  // One route object per event type and batch: the store writes its JSON once, not per event.
  const routes = new Map<string, StoredRoute>();
  for (let i = 0; i < batch.events.length; i++) {
    if (i % SLICE === SLICE - 1) await nextTurn();
    const e = batch.events[i]!;
    const rowKey = rowKeyOf(e);
    // The column when the connector says which one (as its own row errors do), else the event field.
    const fail = (field: string, message: string) => rowErrors.push({ rowKey, field: deps.columns?.[field as ColumnField] ?? field, message });
    if (typeof e.key !== 'string' || e.key.length === 0 || e.key.length > 400) { fail('key', 'dedup key must be a non-empty string of at most 400 characters'); continue; }
    // PostgreSQL text cannot hold U+0000; one such row would fail its whole batch at every poll.
    const nul = hasNul(e.key) ? 'key' : hasNul(e.entity) ? 'entity' : hasNul(e.recipient?.phone) ? 'phone' : hasNul(e.recipient?.language) ? 'language' : null;
    if (nul) { fail(nul, `${nul} contains a NUL character (U+0000)`); continue; }
    if (seen.has(e.key)) { fail('key', `duplicate dedup key "${e.key}" in one batch; the first occurrence was kept`); continue; }
    const spec = deps.definition.eventTypes[e.type];
    if (!spec) { fail('type', `unknown event type "${e.type}" (connector declares: ${Object.keys(deps.definition.eventTypes).join(', ')})`); continue; }
    const cfError = checkFiscalCode(e.recipient?.fiscalCode);
    if (cfError) { fail('fiscalCode', `fiscal code ${cfError}`); continue; }
    const nb = instant(e.notBefore, 'notBefore');
    const ex = instant(e.expiresAt, 'expiresAt');
    if (nb.error || ex.error) { fail(nb.error ? 'notBefore' : 'expiresAt', (nb.error ?? ex.error)!); continue; }
    if (ex.ms !== undefined && ex.ms <= deps.now) { fail('expiresAt', `already past (${new Date(ex.ms).toISOString()}): nothing to send`); continue; }
    const data = storedData(e.data);
    if (!data) { fail('data', 'event data is not JSON-serialisable'); continue; }
    const fiscalCode = normalizeFiscalCode(e.recipient.fiscalCode);
    const personal = personalDataIn(e.key, fiscalCode, e.recipient.phone);
    if (personal) { fail('key', `dedup key holds the citizen's ${personal}; the ledger keeps keys for good, after retention has removed it: key on the row's id instead`); continue; }
    let route = routes.get(e.type);
    if (!route) routes.set(e.type, (route = deps.routeFor(e.type)));
    const deliveries = initialDeliveries(route, e.recipient);
    const renderError = checkRender(deps.channels, deliveries, { ...e, recipient: { ...e.recipient, fiscalCode }, data }, ex.ms);
    if (renderError) { fail('message', renderError); continue; }
    seen.add(e.key);
    events.push({
      key: e.key,
      type: e.type,
      ...(e.entity ? { entity: e.entity } : {}),
      fiscalCode,
      ...(e.recipient.phone ? { phone: String(e.recipient.phone) } : {}),
      ...(e.recipient.language ? { language: e.recipient.language } : {}),
      data,
      ...(nb.ms !== undefined ? { notBefore: nb.ms } : {}),
      ...(ex.ms !== undefined ? { expiresAt: ex.ms } : {}),
      route,
      deliveries,
    });
  }
  return { events, rowErrors };
}

/**
 * The data as it will be stored and read back (JSON), so the render check sees what a send will.
 * Flat text, finite numbers and booleans (every declarative connector's data) are that already:
 * a shallow copy, not a JSON round trip per row of a backfill.
 */
function storedData(raw: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) return jsonRoundTrip(raw);
  const flat: Record<string, unknown> = {};
  for (const k in raw) {
    if (!Object.hasOwn(raw, k)) continue;
    const v = raw[k];
    if (typeof v === 'string' || typeof v === 'boolean' || v === null || (typeof v === 'number' && Number.isFinite(v))) flat[k] = v;
    else if (v !== undefined) return jsonRoundTrip(raw);
  }
  return flat;
}

function jsonRoundTrip(raw: unknown): Record<string, unknown> | undefined {
  try {
    return JSON.parse(JSON.stringify(raw)) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** Render on each target channel now, so a message IO would refuse is a row error, not a failed send later. */
function checkRender(channels: Map<string, Channel>, deliveries: NewDelivery[], e: EmittedEvent, expiresAt?: number): string | null {
  for (const d of deliveries) {
    const channel = channels.get(d.channel);
    if (!channel) return `channel "${d.channel}" is not configured`;
    const ctx: DeliveryContext = {
      deliveryId: 0,
      attempt: 0,
      event: { id: 0, key: e.key, type: e.type, recipient: e.recipient, data: e.data, ...(expiresAt ? { expiresAt: new Date(expiresAt) } : {}) },
      options: d.options,
    };
    try {
      channel.render(ctx, e.recipient.language);
    } catch (err) {
      const msg = err instanceof ChannelError || err instanceof Error ? err.message : String(err);
      return msg.startsWith(`${d.channel}:`) ? msg : `${d.channel}: ${msg}`;
    }
  }
  return null;
}
