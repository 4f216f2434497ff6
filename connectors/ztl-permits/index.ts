// Reference connector: notices `noticeDays` before a ZTL access permit expires.
// Shape 'window': every run re-reads permits expiring soon plus the entities with notices still
// waiting. A permit's set of notice keys includes its expiry date, so a renewal (new date)
// replaces the old notices, and a revoked permit gets a cancellation.
import { defineConnector, type EmittedEvent, type RowError } from '../../src/connectors/contract.js';
import { addDays, formatDate, localDateOf, parseWallTime, wallTimeToInstant } from '../../src/util/local-time.js';
import { cellText, recipientOf, statusIn } from '../../src/connectors/sql/rows.js';
import { checkReadable, readFrom } from '../../src/connectors/sql/source.js';
import { pollWindow, type RowVerdict } from '../../src/connectors/sql/window-poll.js';
import { ztlPermitsConfigSchema, type ZtlPermitsConfig } from './config.js';
import { permitsByIds, permitsWindowQuery, selectPermits } from './query.js';
import { ztlExpiry } from './templates.js';

export { ztlPermitsConfigSchema, type ZtlPermitsConfig } from './config.js';
export { permitsWindowQuery, permitsByIds } from './query.js';

export const ENTITY_PREFIX = 'ztl-permit';
export const REVOKED_REASON = 'permit revoked or cancelled in the back-office';
export const GONE_REASON = 'permit no longer in the back-office';
export const UNREADABLE_REASON = 'permit row can no longer be read (see row errors)';

/**
 * Which notices (days before expiry) belong to a permit today: every notice whose day is today
 * or later, plus the most recent one whose day has passed, as a catch-up for permits registered
 * late (5 days left: the 7-day notice, not also the stale 30-day one). The catch-up is dropped
 * when a notice falls due today anyway, so a permit registered with exactly 7 days left gets one
 * message, not two. `noticeDays` is sorted largest first.
 */
export function noticesDue(expiresOn: string, today: string, noticeDays: readonly number[]): number[] {
  const upcoming = noticeDays.filter((d) => addDays(expiresOn, -d) >= today);
  const passed = noticeDays.filter((d) => addDays(expiresOn, -d) < today);
  const dueToday = upcoming.some((d) => addDays(expiresOn, -d) === today);
  const catchUp = passed.length && !dueToday ? [Math.min(...passed)] : [];
  return [...catchUp, ...upcoming].sort((a, b) => b - a);
}

/** What one back-office row means now: its notices, a cancellation, or row errors. */
export function permitVerdict(row: Record<string, unknown>, id: string, cfg: ZtlPermitsConfig, today: string): RowVerdict {
  if (statusIn(row.status, cfg.revokedValues)) return { cancel: REVOKED_REASON };

  const errors: RowError[] = [];
  const recipient = recipientOf(row, id, cfg.columns.fiscalCode);
  if ('rowKey' in recipient) errors.push(recipient);
  const plate = cellText(row.plate)?.toUpperCase();
  if (!plate) errors.push({ rowKey: id, field: cfg.columns.plate, message: 'missing plate' });
  const text = cellText(row.expiresOn);
  const wall = text === undefined ? null : parseWallTime(text);
  if (!wall) {
    errors.push({
      rowKey: id,
      field: cfg.columns.expiresOn,
      message: text === undefined ? 'missing expiry date' : 'unparsable expiry date (expected YYYY-MM-DD)',
    });
  }
  if (errors.length || !wall || !plate || 'rowKey' in recipient) return { errors, cancel: UNREADABLE_REASON };

  const expiresOn = formatDate(wall);
  const expiresAt = wallTimeToInstant(`${expiresOn} 00:00:00`, cfg.timeZone);
  const events = noticesDue(expiresOn, today, cfg.noticeDays).map((d): EmittedEvent => ({
    key: `ztl:${id}:${expiresOn}:${d}d`,
    type: cfg.eventType,
    entity: `${ENTITY_PREFIX}:${id}`,
    rowKey: id,
    recipient,
    data: { plate, expiresOn, daysBefore: d },
    notBefore: wallTimeToInstant(`${addDays(expiresOn, -d)} ${cfg.sendAt}:00`, cfg.timeZone),
    expiresAt,
  }));
  return { events };
}

export default defineConnector({
  name: 'ztl-permits',
  description: 'Notices before ZTL access permits expire, from a back-office permits table',
  shape: 'window',
  configSchema: ztlPermitsConfigSchema,
  eventTypes: { 'ztl.expiry': ztlExpiry },
  columnsOf: (c) => ({ fiscalCode: c.columns.fiscalCode, phone: c.columns.phone, language: c.columns.language, notBefore: c.columns.expiresOn, expiresAt: c.columns.expiresOn }),

  check: (config, log) => checkReadable(config.source, `ztl-permits: table ${config.table}`, (knex) => selectPermits(knex, config), log),

  async *poll(ctx) {
    const cfg = ctx.config;
    const today = localDateOf(ctx.now, cfg.timeZone);
    yield* readFrom(cfg.source, (knex) => pollWindow({
      knex,
      entityPrefix: ENTITY_PREFIX,
      idColumn: cfg.columns.id,
      pageSize: cfg.pageSize,
      windowQuery: () => permitsWindowQuery(knex, cfg, ctx.now),
      byIds: (ids) => permitsByIds(knex, cfg, ids),
      verdict: (row, id) => permitVerdict(row, id, cfg, today),
      goneReason: GONE_REASON,
    }, ctx));
  },
});
