// Configuration of the ZTL permit connector (restricted-traffic-zone access permits).
import { z } from 'zod';
import { sqlSourceSchema } from '../../src/connectors/sql/source.js';
import { citizenColumns, column, pageSizeField, timeZoneField } from '../../src/connectors/sql/config-fields.js';

export const ztlPermitsConfigSchema = z.object({
  source: sqlSourceSchema,
  table: z.string().min(1).default('permessi_ztl'),
  columns: z
    .object({
      ...citizenColumns,
      plate: column.default('targa'),
      /** DATE: the day the permit expires. */
      expiresOn: column.default('scadenza'),
      status: column.default('stato'),
    })
    .prefault({}),
  /**
   * Status values that must get no notice; pending ones are cancelled (compared trimmed and
   * case-insensitively). Add e.g. "RINNOVATO" where a renewal creates a new row and marks the old one.
   * ANNULLATO too by default: a cancelled permit's holder must not be invited to renew it.
   */
  revokedValues: z.array(z.string().min(1)).default(['REVOCATO', 'ANNULLATO']),
  /** A notice this many days before the expiry day, for each value. */
  noticeDays: z
    .array(z.number().int().min(1).max(366))
    .min(1)
    .default([30, 7])
    .transform((days) => [...new Set(days)].sort((a, b) => b - a)),
  /** Local time of day the notices go out. */
  sendAt: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM (24-hour)').default('09:00'),
  eventType: z.string().min(1).default('ztl.expiry'),
  /** Zone of the back-office dates and of sendAt. */
  timeZone: timeZoneField,
  pageSize: pageSizeField,
});

export type ZtlPermitsConfig = z.infer<typeof ztlPermitsConfigSchema>;
