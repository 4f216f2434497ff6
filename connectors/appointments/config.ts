// Configuration of the appointments connector. Table and column names come from config because
// every back-office names them differently (SQL Server: e.g. table "dbo.Appuntamenti").
import { z } from 'zod';
import { sqlSourceSchema } from '../../src/connectors/sql/source.js';
import { citizenColumns, column, optionalColumn, pageSizeField, timeZoneField } from '../../src/connectors/sql/config-fields.js';

export const appointmentsConfigSchema = z.object({
  source: sqlSourceSchema,
  table: z.string().min(1).default('appuntamenti'),
  columns: z
    .object({
      ...citizenColumns,
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
  timeZone: timeZoneField,
  pageSize: pageSizeField,
}).superRefine((c, ctx) => {
  // Otherwise an appointment enters the window after its reminder time and is reminded late.
  if (c.leadHours > c.lookaheadHours) ctx.addIssue({ code: 'custom', path: ['lookaheadHours'], message: `lookaheadHours (${c.lookaheadHours}) must be at least leadHours (${c.leadHours})` });
});

export type AppointmentsConfig = z.infer<typeof appointmentsConfigSchema>;
