// Configuration of the appointments connector. Table and column names come from config because
// every back-office names them differently (SQL Server: e.g. table "dbo.Appuntamenti").
import { z } from 'zod';
import { isValidTimeZone } from '../../src/util/local-time.js';
import { sqlSourceSchema } from '../../src/connectors/sql/source.js';

const column = z.string().min(1);
/** Optional columns: null when the table has no such column. */
const optionalColumn = (name: string) => column.nullable().default(name);

export const appointmentsConfigSchema = z.object({
  source: sqlSourceSchema,
  table: z.string().min(1).default('appuntamenti'),
  columns: z
    .object({
      id: column.default('id'),
      fiscalCode: column.default('codice_fiscale'),
      phone: optionalColumn('telefono'),
      language: optionalColumn('lingua'),
      /** Local wall-clock start (datetime2 / timestamp / DATETIME / SQLite text), no time zone. */
      startsAt: column.default('data_ora'),
      status: column.default('stato'),
      office: optionalColumn('ufficio'),
      service: optionalColumn('servizio'),
      address: optionalColumn('indirizzo'),
    })
    .prefault({}),
  /** Status values that get a reminder (compared trimmed and case-insensitively). */
  confirmedValues: z.array(z.string().min(1)).min(1).default(['CONFERMATO']),
  /** Status values whose pending reminders are cancelled. Any other status is treated the same way. */
  cancelledValues: z.array(z.string().min(1)).default(['ANNULLATO']),
  /** The reminder goes out this many hours before the start. */
  leadHours: z.number().positive().max(24 * 30).default(24),
  /** Reminders are created for appointments starting within this many hours from now. */
  lookaheadHours: z.number().positive().max(24 * 90).default(72),
  eventType: z.string().min(1).default('appointment.reminder'),
  /** Zone of the back-office's wall-clock times. */
  timeZone: z.string().refine(isValidTimeZone, 'unknown time zone').default('Europe/Rome'),
  /** Rows per batch (keyset pages). */
  pageSize: z.number().int().positive().max(10_000).default(1000),
}).superRefine((c, ctx) => {
  // Otherwise an appointment enters the window after its reminder time and is reminded late.
  if (c.leadHours > c.lookaheadHours) ctx.addIssue({ code: 'custom', path: ['lookaheadHours'], message: `lookaheadHours (${c.lookaheadHours}) must be at least leadHours (${c.leadHours})` });
});

export type AppointmentsConfig = z.infer<typeof appointmentsConfigSchema>;
