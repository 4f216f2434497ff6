// connectors/<name>/fixture.yaml: the back-office table the acceptance harness seeds into a
// scratch database, and one valid example row. The harness builds its own cases from that row
// (other keys, dates in the window, ties, NULLs, DST days, deletions).
import { existsSync } from 'node:fs';
import { z } from 'zod';
import type { Knex } from 'knex';
import { ConfigError, zodProblems } from '../../config/errors.js';
import { readYamlFile } from '../../config/yaml-file.js';

const columnType = z.string().regex(/^(integer|text|datetime|date|string\(\d+\))$/, 'integer, text, datetime, date or string(N)');

export const fixtureSchema = z.strictObject({
  /** The table to create (database sources); a file source has none. */
  table: z.string().min(1).optional(),
  /** The columns, in file order for a file source (its header line). */
  columns: z.record(z.string(), columnType),
  /** A valid example row (the key and the date/cursor column are set by the harness). */
  row: z.record(z.string(), z.union([z.string(), z.number(), z.null()])),
  /** Extra instance config for TypeScript connectors (the harness sets `source`). */
  config: z.record(z.string(), z.unknown()).default({}),
  /** For TypeScript connectors (declarative ones say it in connector.yaml). */
  key: z.string().optional(),
  /** The window's date column, or the incremental cursor column. */
  dateColumn: z.string().optional(),
  /** Where a row's date goes so that it is inside the window (hours from now). */
  dateOffsetHours: z.number().optional(),
  /** Seconds of lag an incremental TypeScript connector keeps below the database clock. */
  lagSeconds: z.number().min(0).optional(),
  /** A NULL in the date column is a normal value here (e.g. a permit that never expires), not an error. */
  nullDateIsValid: z.boolean().default(false),
  /** A value of a column that makes the row get nothing (cancellation). */
  cancel: z.strictObject({ column: z.string(), value: z.string() }).optional(),
});

export type Fixture = z.infer<typeof fixtureSchema>;

export function readFixture(file: string): Fixture {
  if (!existsSync(file)) throw new ConfigError(file, ['missing: the acceptance harness needs fixture.yaml (table, columns, an example row)']);
  const parsed = fixtureSchema.safeParse(readYamlFile(file));
  if (!parsed.success) throw new ConfigError(file, zodProblems(parsed.error));
  return parsed.data;
}

/** Drops and creates the fixture's table in the scratch back-office. */
export async function createTable(knex: Knex, f: Fixture, dialect: string): Promise<void> {
  const table = f.table!; // harnessTarget requires it for database sources
  await knex.schema.dropTableIfExists(table);
  await knex.schema.createTable(table, (t) => {
    for (const [name, type] of Object.entries(f.columns)) {
      const m = /^string\((\d+)\)$/.exec(type);
      if (m) t.string(name, Number(m[1]));
      else if (type === 'integer') t.integer(name);
      else if (type === 'text') t.text(name);
      else if (type === 'date') t.date(name);
      // Microseconds where the database has them: the precision check needs them.
      else if (dialect === 'mariadb') t.specificType(name, 'DATETIME(6) NULL');
      else t.dateTime(name, { precision: 6 });
    }
  });
}
