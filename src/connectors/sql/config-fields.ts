// Settings every table-reading connector shares: its column names (each back-office names them
// its own way, so they come from config with the usual Italian names as defaults), its time zone
// and its page size. One definition, so a connector written in an afternoon gets the same
// defaults and the same error messages as the reference ones.
import { z } from 'zod';
import { isValidTimeZone } from '../../util/local-time.js';

export const column = z.string().min(1);
/** An optional column: null when the table has no such column. */
export const optionalColumn = (name: string) => column.nullable().default(name);

/** The columns naming the citizen, as spread into a connector's `columns` object. */
export const citizenColumns = {
  id: column.default('id'),
  fiscalCode: column.default('codice_fiscale'),
  phone: optionalColumn('telefono'),
  language: optionalColumn('lingua'),
};

/** Zone of the back-office's wall-clock times and dates. */
export const timeZoneField = z.string().refine(isValidTimeZone, 'unknown time zone').default('Europe/Rome');

/** Rows per batch (keyset pages). */
export const pageSizeField = z.number().int().positive().max(10_000).default(1000);
