// Reference connector: a reminder `leadHours` before each confirmed appointment.
// Shape 'window': every run re-reads appointments starting in the next `lookaheadHours` plus the
// entities that still have reminders waiting; the permanent dedup key stops repeats, and an
// entity's set of keys tells the store which older reminders to cancel (reschedules).
import { defineConnector, type EmittedEvent, type RowError } from '../../src/connectors/contract.js';
import { formatWallTime, parseWallTime, wallTimeToInstant } from '../../src/util/local-time.js';
import { cellText, optionalText, recipientOf, statusIn } from '../../src/connectors/sql/rows.js';
import { checkReadable, readFrom } from '../../src/connectors/sql/source.js';
import { pollWindow, type RowVerdict } from '../../src/connectors/sql/window-poll.js';
import { appointmentsConfigSchema, type AppointmentsConfig } from './config.js';
import { appointmentsByIds, appointmentsWindowQuery, selectAppointments } from './query.js';
import { appointmentReminder } from './templates.js';

export { appointmentsConfigSchema, type AppointmentsConfig } from './config.js';
export { appointmentsWindowQuery, appointmentsByIds } from './query.js';

export const ENTITY_PREFIX = 'appointment';
export const CANCELLED_REASON = 'appointment cancelled in the back-office';
export const GONE_REASON = 'appointment no longer in the back-office';
export const NOT_CONFIRMED_REASON = 'appointment no longer confirmed in the back-office';
export const UNREADABLE_REASON = 'appointment row can no longer be read (see row errors)';

/** What one back-office row means now: its reminder, a cancellation, or row errors. */
export function appointmentVerdict(row: Record<string, unknown>, id: string, cfg: AppointmentsConfig): RowVerdict {
  if (statusIn(row.status, cfg.cancelledValues)) return { cancel: CANCELLED_REASON };
  if (!statusIn(row.status, cfg.confirmedValues)) return { cancel: NOT_CONFIRMED_REASON };

  const errors: RowError[] = [];
  const recipient = recipientOf(row, id, cfg.columns.fiscalCode);
  if ('rowKey' in recipient) errors.push(recipient);
  const text = cellText(row.startsAt);
  const wall = text === undefined ? null : parseWallTime(text);
  if (!wall) {
    errors.push({
      rowKey: id,
      field: cfg.columns.startsAt,
      message: text === undefined ? 'missing appointment date/time' : 'unparsable appointment date/time (expected YYYY-MM-DD HH:MM:SS)',
    });
  }
  if (errors.length || !wall || 'rowKey' in recipient) return { errors, cancel: UNREADABLE_REASON };

  const start = wallTimeToInstant(wall, cfg.timeZone);
  const event: EmittedEvent = {
    // The local wall time (seconds precision) keeps the key identical whatever the driver returns.
    key: `${ENTITY_PREFIX}:${id}:${formatWallTime(wall, 'T')}:${cfg.leadHours}h`,
    type: cfg.eventType,
    entity: `${ENTITY_PREFIX}:${id}`,
    rowKey: id,
    recipient,
    data: optionalText({ start: start.toISOString() }, { office: row.office, service: row.service, address: row.address }),
    notBefore: new Date(start.getTime() - cfg.leadHours * 3_600_000),
    expiresAt: start,
  };
  return { events: [event] };
}

export default defineConnector({
  name: 'appointments',
  description: 'Reminder before each confirmed appointment booked in a back-office table',
  shape: 'window',
  configSchema: appointmentsConfigSchema,
  eventTypes: { 'appointment.reminder': appointmentReminder },
  columnsOf: (c) => ({ fiscalCode: c.columns.fiscalCode, phone: c.columns.phone, language: c.columns.language, notBefore: c.columns.startsAt, expiresAt: c.columns.startsAt }),

  check: (config, log) => checkReadable(config.source, `appointments: table ${config.table}`, (knex) => selectAppointments(knex, config), log),

  async *poll(ctx) {
    const cfg = ctx.config;
    yield* readFrom(cfg.source, (knex) => pollWindow({
      knex,
      entityPrefix: ENTITY_PREFIX,
      idColumn: cfg.columns.id,
      pageSize: cfg.pageSize,
      windowQuery: () => appointmentsWindowQuery(knex, cfg, ctx.now),
      byIds: (ids) => appointmentsByIds(knex, cfg, ids),
      verdict: (row, id) => appointmentVerdict(row, id, cfg),
      goneReason: GONE_REASON,
    }, ctx));
  },
});
