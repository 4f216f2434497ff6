// The SQL the ZTL permit connector runs (exported so the T-SQL can be checked without a server).
import type { Knex } from 'knex';
import { addDays, localDateOf } from '../../src/util/local-time.js';
import { localBound, selectLocalDate } from '../../src/connectors/sql/source.js';
import type { ZtlPermitsConfig } from './config.js';

/** Rows come back with these aliases whatever the back-office calls the columns. */
export function selectPermits(knex: Knex, cfg: ZtlPermitsConfig): Knex.QueryBuilder {
  const c = cfg.columns;
  const plain: Record<string, string> = { id: c.id, fiscalCode: c.fiscalCode, plate: c.plate, status: c.status };
  if (c.phone) plain.phone = c.phone;
  if (c.language) plain.language = c.language;
  return knex(cfg.table).select(plain, selectLocalDate(knex, c.expiresOn, 'expiresOn'));
}

/**
 * Permits expiring in [today, today + max(noticeDays) + 1] (local dates). The upper bound is
 * written as "before the next day" so a SQLite text date with a time part still compares right.
 * Rows with no expiry date are not reported here: permanent permits are normal in many towns.
 */
export function permitsWindowQuery(knex: Knex, cfg: ZtlPermitsConfig, now: Date): Knex.QueryBuilder {
  const c = cfg.columns;
  const today = localDateOf(now, cfg.timeZone);
  const endExclusive = addDays(today, Math.max(...cfg.noticeDays) + 2);
  return selectPermits(knex, cfg).where((w) => {
    w.where(c.expiresOn, '>=', localBound(knex, today, 'date')).andWhere(c.expiresOn, '<', localBound(knex, endExclusive, 'date'));
  });
}

export function permitsByIds(knex: Knex, cfg: ZtlPermitsConfig, ids: string[]): Knex.QueryBuilder {
  return selectPermits(knex, cfg).whereIn(cfg.columns.id, ids);
}
