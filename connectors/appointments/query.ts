// The SQL the appointments connector runs (exported so the T-SQL can be checked without a server).
import type { Knex } from 'knex';
import { instantToWallTime } from '../../src/util/local-time.js';
import { localBound, normalisedTextIn, selectLocalDateTime } from '../../src/connectors/sql/source.js';
import type { AppointmentsConfig } from './config.js';

/** Rows come back with these aliases whatever the back-office calls the columns. */
export function selectAppointments(knex: Knex, cfg: AppointmentsConfig): Knex.QueryBuilder {
  const c = cfg.columns;
  const plain: Record<string, string> = { id: c.id, fiscalCode: c.fiscalCode, status: c.status };
  for (const [alias, col] of Object.entries({ phone: c.phone, language: c.language, office: c.office, service: c.service, address: c.address })) {
    if (col) plain[alias] = col;
  }
  return knex(cfg.table).select(plain, selectLocalDateTime(knex, c.startsAt, 'startsAt'));
}

/**
 * Appointments starting in [now, now + lookaheadHours], bounds compared as local wall-clock
 * times; plus confirmed rows with no start at all, so they are reported as row errors.
 */
export function appointmentsWindowQuery(knex: Knex, cfg: AppointmentsConfig, now: Date): Knex.QueryBuilder {
  const c = cfg.columns;
  const from = instantToWallTime(now, cfg.timeZone);
  const to = instantToWallTime(new Date(now.getTime() + cfg.lookaheadHours * 3_600_000), cfg.timeZone);
  return selectAppointments(knex, cfg).where((w) => {
    w.where((q) => q.where(c.startsAt, '>=', localBound(knex, from, 'datetime')).andWhere(c.startsAt, '<=', localBound(knex, to, 'datetime')))
      .orWhere((q) => q.whereNull(c.startsAt).andWhere(normalisedTextIn(knex, c.status, cfg.confirmedValues)));
  });
}

export function appointmentsByIds(knex: Knex, cfg: AppointmentsConfig, ids: string[]): Knex.QueryBuilder {
  return selectAppointments(knex, cfg).whereIn(cfg.columns.id, ids);
}
