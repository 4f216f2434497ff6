// `ponte deliveries` and `ponte delivery show|resend|cancel|confirm`: what went out, why
// something failed, and the operator's remedies (the uncertain-send policy ends here).
import type { GlobalOptions } from './common.js';
import { withStore } from './store-only.js';
import { deliveryJson } from './delivery-json.js';
import { deliveryDetail, listDeliveries, operatorAction, type DeliveryDetail, type DeliveryFilter, type OperatorAction } from '../store/operator.js';
import { checkFiscalCode, normalizeFiscalCode } from '../util/fiscal-code.js';
import { toE164 } from '../util/phone.js';
import { consentOf } from '../store/consent.js';
import { PURGED_FISCAL_CODE } from '../store/purge.js';
import { DELIVERY_STATES, TERMINAL_STATES } from '../store/states.js';
import type { DeliveryRow } from '../store/rows.js';
import { maskDeep, maskFiscalCode, maskPhone, maskText } from '../util/mask.js';
import { localStamp } from '../util/local-stamp.js';
import { CHANNEL_NAMES as CHANNELS } from '../config/schema.js';


export interface ListOptions { state?: string; limit?: string; citizen?: string; connector?: string; type?: string; channel?: string }

export async function listCommand(opts: GlobalOptions & ListOptions): Promise<number> {
  const filter = listFilter(opts);
  if ('error' in filter) { console.error(`ponte: ${filter.error}`); return 2; }
  return withStore(opts, async (s, config) => {
    const rows = await listDeliveries(s.knex, filter);
    if (opts.json) { console.log(JSON.stringify(maskDeep(rows.map((r) => deliveryJson(r))), null, 2)); return 0; }
    const known = () => config.connectors.map((c) => c.id);
    if (rows.length === 0 && filter.connector && !known().includes(filter.connector)) {
      // A misspelt id would read as "nothing went out": say which ids exist instead.
      console.error(`ponte: --connector: no connector "${filter.connector}" in the configuration and no deliveries of one; ids: ${known().join(', ') || '(none configured)'}`);
      return 2;
    }
    if (rows.length === 0) console.log('no deliveries match');
    for (const r of rows) console.log(formatDeliveryLine(r, config.timeZone));
    // Retention removes the recipient from finished events: a citizen's older messages are not found.
    if (filter.fiscalCode || filter.phone) {
      console.log(`(by recipient, only events not yet purged: those finished more than ${config.retention.days} days ago no longer name their citizen)`);
    }
    // "Why no WhatsApp?" is the helpdesk's next question: the number's consent answers it.
    if (filter.phone) {
      const c = await consentOf(s.knex, filter.phone);
      console.log(c ? `WhatsApp consent: ${c.state === 'opted_in' ? 'opted in' : 'opted out'} since ${localStamp(c.at, config.timeZone)}${c.source ? ` (${maskText(c.source)})` : ''}`
        : 'WhatsApp consent: none recorded for this number (no WhatsApp message goes to it)');
    }
    return 0;
  });
}

/** The list's options, checked: a misspelt state or a mistyped fiscal code would otherwise match nothing and look like "none". */
export function listFilter(opts: ListOptions): DeliveryFilter | { error: string } {
  const limit = Number(opts.limit ?? 50);
  if (!Number.isInteger(limit) || limit < 1) return { error: `--limit: expected a whole number of at least 1, got "${opts.limit}"` };
  const filter: DeliveryFilter = { limit };
  if (opts.state !== undefined) {
    const state = opts.state.toLowerCase();
    if (!(DELIVERY_STATES as readonly string[]).includes(state)) {
      return { error: `--state: "${opts.state}" is not a delivery state; one of ${DELIVERY_STATES.join(', ')}` };
    }
    filter.state = state;
  }
  if (opts.connector !== undefined) filter.connector = opts.connector.trim();
  if (opts.type !== undefined) filter.type = opts.type.trim();
  if (opts.channel !== undefined) {
    const channel = opts.channel.trim().toLowerCase();
    if (!CHANNELS.includes(channel)) return { error: `--channel: "${opts.channel}" is not a channel; one of ${CHANNELS.join(', ')}` };
    filter.channel = channel;
  }
  if (opts.citizen !== undefined) {
    const who = citizenFilter(opts.citizen);
    if ('error' in who) return who;
    Object.assign(filter, who);
  }
  return filter;
}

/**
 * A citizen as a helpdesk types them: a fiscal code (any case, spaces ignored) or a phone number
 * (Italian by default, as WhatsApp stores it). Errors never repeat what was typed: it is personal data.
 */
function citizenFilter(typed: string): { fiscalCode: string } | { phone: string } | { error: string } {
  const compact = typed.replace(/\s+/g, '');
  if (/^[A-Za-z]/.test(compact)) {
    const why = checkFiscalCode(compact);
    return why ? { error: `--citizen: not a valid fiscal code (${why})` } : { fiscalCode: normalizeFiscalCode(compact) };
  }
  const phone = toE164(compact);
  return phone ? { phone } : { error: '--citizen: neither a fiscal code nor a valid phone number (e.g. RSSMRA80A01H501U or +39 347 123 4567)' };
}

/** One line of `ponte deliveries`: when it last changed (the municipality's clock), where, its state, the event, and why. */
export function formatDeliveryLine(r: DeliveryRow & { dedup_key: string; type: string }, zone = 'Europe/Rome'): string {
  const why = r.reason || r.last_error ? ` — ${maskText(r.reason ?? r.last_error ?? '')}` : '';
  return `#${r.id} ${localStamp(r.updated_at, zone)} ${r.channel}${affix('/', ioServiceName(r))} ${r.state.toUpperCase()} ${r.type} ${maskText(r.dedup_key)}${why}`;
}

export async function showCommand(id: string, opts: GlobalOptions): Promise<number> {
  const ids = deliveryIds([id]);
  if ('error' in ids) { console.error(`ponte: ${ids.error}`); return 2; }
  return withStore(opts, async (s, config) => {
    const d = await deliveryDetail(s.knex, ids[0]!);
    if (!d) { console.error(`ponte: delivery ${id} does not exist`); return 1; }
    if (opts.json) { console.log(JSON.stringify(maskDeep({ delivery: deliveryJson(d.delivery), event: deliveryJson(d.event), attempts: d.attempts.map((a) => deliveryJson(a)), ...(d.statuses ? { whatsappStatuses: d.statuses.map((x) => ({ ...x, status_at: new Date(Number(x.status_at)).toISOString() })) } : {}) }), null, 2)); return 0; }
    console.log(formatDelivery(d, config.timeZone));
    return 0;
  });
}

/** Delivery ids as typed: all checked before any is acted on, so a typo does not leave half done. */
export function deliveryIds(ids: string[]): number[] | { error: string } {
  const bad = ids.filter((id) => !/^[1-9]\d{0,17}$/.test(id.trim()));
  if (bad.length) return { error: `not a delivery id: ${bad.map((b) => `"${b}"`).join(', ')} (ids are the numbers \`ponte deliveries\` shows after #); nothing was done` };
  return ids.map((id) => Number(id.trim()));
}

export async function actionCommand(action: OperatorAction, typed: string[], opts: GlobalOptions & { providerId?: string; note?: string; force?: boolean }): Promise<number> {
  const ids = deliveryIds(typed);
  if ('error' in ids) { console.error(`ponte: ${ids.error}`); return 2; }
  return withStore(opts, async (s) => {
    let failed = 0;
    for (const id of ids) {
      try {
        const to = await operatorAction(s.knex, id, action, { ...(opts.providerId ? { providerId: opts.providerId } : {}), ...(opts.note ? { note: opts.note } : {}), ...(opts.force ? { force: true } : {}) });
        console.log(`delivery ${id}: now ${to}`);
      } catch (e) {
        failed++;
        console.error(`ponte: ${maskText((e as Error).message)}`);
      }
    }
    return failed ? 1 : 0;
  });
}

/** What comes next for a delivery in this state: nothing once it is final, a person for the held ones. */
function whatNext(x: DeliveryDetail['delivery'], at: (ms: number | null) => string): string {
  if (TERMINAL_STATES.includes(x.state)) return `finished ${at(x.finished_at)}`;
  if (x.state === 'accepted') return `next status check ${at(x.next_attempt_at)}`;
  if (x.state === 'pending') return `next attempt ${at(x.next_attempt_at)}`;
  if (x.state === 'uncertain') return 'held for an operator: resend, confirm or cancel';
  return `in flight since ${at(x.updated_at)}`; // sending
}

/** Whom it is for, masked: the fiscal code, or the number for a broadcast (whose events carry none). */
function recipientOf({ delivery: x, event: e }: DeliveryDetail): string {
  // A broadcast's number also goes at once when that citizen erases their data (citizen-data.ts).
  if (e.fiscal_code === PURGED_FISCAL_CODE) return e.type === 'broadcast' ? '(removed by retention, or the citizen\'s erasure)' : '(removed by retention)';
  // A WhatsApp message went to a number: the one the helpdesk compares with the citizen's.
  if (e.fiscal_code) return `${maskFiscalCode(e.fiscal_code)}${x.channel === 'whatsapp' && x.address ? `, WhatsApp ${maskPhone(x.address)}` : ''}`;
  const phone = e.phone ?? x.address;
  return phone ? maskPhone(phone) : '-';
}

/** Why a delivery shows no provider call: a send cut by a crash is written only as its state. */
function noHistory(x: DeliveryDetail['delivery']): string {
  if (x.state === 'uncertain') return 'no provider call recorded: the request was in flight when its process stopped, so its answer was never written (it may have reached the provider)';
  if (x.state === 'sending') return 'none yet: the request is in flight';
  return 'none kept (no provider call yet, or removed by retention)';
}

/**
 * Which IO service sends it: a municipality has several (anagrafe, polizia locale ...), each with
 * its own key, and a 401 or 403 is about one of them.
 */
/** `before + value + after`, or nothing when there is no value. */
const affix = (before: string, value: string | null, after = '') => (value ? before + value + after : '');

function ioServiceName(x: Pick<DeliveryRow, 'channel' | 'options'>): string | null {
  if (x.channel !== 'appio' || !x.options) return null;
  try {
    const service = JSON.parse(x.options) as { service?: unknown } | null;
    return typeof service?.service === 'string' ? service.service : null;
  } catch {
    return null;
  }
}


/** `ponte delivery show` for a person: the delivery, its event, and every provider call made for it. */
export function formatDelivery(d: DeliveryDetail, zone = 'Europe/Rome'): string {
  const { delivery: x, event: e } = d;
  const at = (ms: number | null) => localStamp(ms, zone);
  return [
    `Delivery #${x.id} on ${x.channel}${affix(' (IO service ', ioServiceName(x), ')')}: ${x.state.toUpperCase()}`,
    `  event       ${maskText(e.dedup_key)} [${e.type}] from ${e.instance_id}`,
    `  recipient   ${recipientOf(d)}`,
    `  send from   ${at(e.not_before)}   expires ${at(e.expires_at)}`,
    `  attempts    ${x.attempts}   sent ${at(x.sent_at)}   provider id ${x.provider_id ?? '-'}`,
    `  now         ${whatNext(x, at)}`,
    `  reason      ${maskText(x.reason ?? '-')}`,
    `  last error  ${maskText(x.last_error ?? '-')}`,
    d.attempts.length ? '  history:' : `  history:   ${noHistory(x)}`,
    ...d.attempts.map((a) => `    ${at(a.started_at)} ${a.kind.padEnd(6)} ${a.outcome.padEnd(10)} ${a.http_status ?? ''} ${a.duration_ms} ms ${maskText(a.error ?? '')}`),
    ...whatsappStatuses(d, at),
  ].join('\n');
}

/** What Meta's webhooks said of a WhatsApp message: did it reach the phone, was it read, why did it fail. */
function whatsappStatuses(d: DeliveryDetail, at: (ms: number | null) => string): string[] {
  if (d.statuses === undefined) return [];
  if (!d.statuses.length) return ['  WhatsApp statuses: none received yet (Meta reports sent, delivered and read by webhook)'];
  return [
    '  WhatsApp statuses (Meta\'s webhooks):',
    ...d.statuses.map((s) => `    ${at(Number(s.status_at))} ${s.status}${s.error_code != null || s.error_title ? ` ${[s.error_code, s.error_title].filter((v) => v != null && v !== '').join(' ')}` : ''}`),
  ];
}
