// The dialect-specific SQL of the incremental cursor, all in one place. A change column is read
// as TEXT at the database's own precision, stored as that string, and compared back in SQL with a
// cast of the string to the column's type: a JS Date holds milliseconds only, and a cursor that
// loses digits re-reads or skips rows (peers.md §2, KC #70, Airbyte PR #79149). The upper bound is
// the database clock minus the lag, computed and formatted by the database in the same form.
import type { Knex } from 'knex';
import { dialectOf, type SqlDialect } from './source.js';

/**
 * Which clock the change column follows.
 * - 'database' (default): the database's current time as its own session shows it — what a
 *   column filled with the back-office's now()/NOW()/GETDATE()/SYSDATETIME() holds.
 *   PostgreSQL clock_timestamp() in the session TimeZone, MariaDB NOW(6) in the session
 *   time_zone, SQL Server SYSDATETIME() (the server's zone). SQLite has no zone of its own: its
 *   clock is UTC ('now', what CURRENT_TIMESTAMP and datetime('now') write).
 * - 'utc': zone-less columns that hold UTC (PostgreSQL clock_timestamp() AT TIME ZONE 'UTC',
 *   MariaDB UTC_TIMESTAMP(6), SQL Server SYSUTCDATETIME(), SQLite 'now').
 * Columns holding instants (PostgreSQL timestamptz, SQL Server datetimeoffset) compare instants,
 * so the clock setting does not apply to them.
 */
export type CursorClock = 'database' | 'utc';

/** The type the stored cursor string is cast to when no sqlType is given. */
export const DEFAULT_CURSOR_TYPE: Record<SqlDialect, string> = {
  pg: 'timestamp(6)',
  mysql: 'DATETIME',
  mssql: 'datetime2(7)',
  sqlite: 'TEXT',
};

// The type name is written into the SQL, so only plain type names are accepted.
const SQL_TYPE = /^[A-Za-z][A-Za-z0-9_]*(\s*\(\s*\d{1,2}\s*\))?(\s+with(out)?\s+time\s+zone)?$/i;

export function isSafeSqlType(type: string): boolean {
  return SQL_TYPE.test(type.trim());
}

/** Types holding an instant rather than a wall-clock time. */
function holdsInstant(dialect: SqlDialect, type: string): boolean {
  if (dialect === 'pg') return /^timestamptz|with\s+time\s+zone$/i.test(type.trim());
  if (dialect === 'mssql') return /^datetimeoffset/i.test(type.trim());
  return false;
}

const PG_TEXT = `'YYYY-MM-DD HH24:MI:SS.US'`;
// The offset keeps a timestamptz cursor exact across the autumn DST hour.
const PG_TEXT_TZ = `'YYYY-MM-DD HH24:MI:SS.USTZH:TZM'`;
const MYSQL_TEXT = `'%Y-%m-%d %H:%i:%s.%f'`;
// Style 121 is language- and DATEFORMAT-independent; 34 characters hold datetime2(7) (27) and
// datetimeoffset(7) with its ' +hh:mm'.
const MSSQL_TEXT_LENGTH = 34;

/** SELECT expression: the change column as text at full precision (alias it yourself). */
export function cursorText(knex: Knex, column: string, type: string): Knex.Raw {
  const dialect = dialectOf(knex);
  switch (dialect) {
    case 'pg': return knex.raw(`to_char(??, ${holdsInstant(dialect, type) ? PG_TEXT_TZ : PG_TEXT})`, [column]);
    case 'mysql': return knex.raw(`DATE_FORMAT(??, ${MYSQL_TEXT})`, [column]);
    case 'mssql': return knex.raw(`CONVERT(varchar(${MSSQL_TEXT_LENGTH}), ??, 121)`, [column]);
    // SQLite: the text the back-office wrote (checkIncremental verifies its form).
    case 'sqlite': return knex.raw('CAST(?? AS TEXT)', [column]);
  }
}

/** A stored cursor string as a value of the column's type, for comparisons. */
export function cursorValue(knex: Knex, text: string, type: string): Knex.Raw {
  switch (dialectOf(knex)) {
    case 'pg':
    case 'mysql': return knex.raw(`CAST(? AS ${type})`, [text]);
    // Style 121 again: an Italian login (DATEFORMAT dmy) must not read 2026-03-04 as 3 April.
    case 'mssql': return knex.raw(`CONVERT(${type}, ?, 121)`, [text]);
    case 'sqlite': return knex.raw('?', [text]);
  }
}

/**
 * SELECT expression: the database clock minus `lagSeconds`, cast to the column's type and
 * formatted exactly like cursorText, so the bound is in the column's own representation.
 */
export function clockText(knex: Knex, clock: CursorClock, lagSeconds: number, type: string): Knex.Raw {
  const dialect = dialectOf(knex);
  const instant = holdsInstant(dialect, type);
  switch (dialect) {
    case 'pg': {
      const now = clock === 'utc' && !instant ? `(clock_timestamp() AT TIME ZONE 'UTC')` : 'clock_timestamp()';
      return knex.raw(`to_char(CAST(${now} - make_interval(secs => ?) AS ${type}), ${instant ? PG_TEXT_TZ : PG_TEXT})`, [lagSeconds]);
    }
    case 'mysql': {
      const now = clock === 'utc' ? 'UTC_TIMESTAMP(6)' : 'NOW(6)';
      return knex.raw(`DATE_FORMAT(CAST(${now} - INTERVAL ? MICROSECOND AS ${type}), ${MYSQL_TEXT})`, [Math.round(lagSeconds * 1e6)]);
    }
    case 'mssql': {
      // DATEADD takes an int: milliseconds keep any lag up to 24 days.
      const now = instant ? 'SYSDATETIMEOFFSET()' : clock === 'utc' ? 'SYSUTCDATETIME()' : 'SYSDATETIME()';
      return knex.raw(`CONVERT(varchar(${MSSQL_TEXT_LENGTH}), CAST(DATEADD(millisecond, ?, ${now}) AS ${type}), 121)`, [-Math.round(lagSeconds * 1000)]);
    }
    case 'sqlite':
      return knex.raw(`strftime('%Y-%m-%d %H:%M:%f', 'now', ?)`, [`-${lagSeconds.toFixed(3)} seconds`]);
  }
}

/**
 * SQLite compares the change column as text, so every value must have the form the bound has
 * ('YYYY-MM-DD HH:MM:SS[.fff...]', space-separated): a 'T' sorts after every ' ' and a number is
 * not text. Condition matching the values that break this.
 */
export function sqliteMalformedCursor(knex: Knex, column: string): Knex.Raw {
  return knex.raw(`(typeof(??) <> 'text' or ?? not glob '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]*')`, [column, column]);
}

// SQL Server rowversion: 8 bytes, read as '0x' + 16 hex digits (style 1), bound as binary.

/** SELECT expression: a rowversion (or MIN_ACTIVE_ROWVERSION()) as '0x…' text. */
export function rowversionText(knex: Knex, column: string): Knex.Raw {
  return knex.raw('CONVERT(varchar(18), ??, 1)', [column]);
}

/**
 * SELECT expression: the lowest rowversion still held by an open transaction (or the next one to
 * be assigned). Every row below it is committed: unlike @@DBTS, it never lets an open
 * transaction's rows fall behind the cursor.
 */
export function minActiveRowversionText(knex: Knex): Knex.Raw {
  return knex.raw('CONVERT(varchar(18), MIN_ACTIVE_ROWVERSION(), 1)');
}

const ROWVERSION_HEX = /^0x[0-9A-Fa-f]{16}$/;

export function isRowversionHex(text: unknown): text is string {
  return typeof text === 'string' && ROWVERSION_HEX.test(text);
}

/** '0x…' to the 8 bytes bound as the comparison value. */
export function rowversionBytes(hex: string): Buffer {
  if (!isRowversionHex(hex)) throw new Error(`not a rowversion (expected 0x and 16 hex digits): ${hex}`);
  return Buffer.from(hex.slice(2), 'hex');
}

/** The rowversion just below `hex` ('0x…'), to turn the exclusive bound into an "after" cursor. */
export function previousRowversion(hex: string): string {
  const n = BigInt(hex);
  if (n === 0n) throw new Error('rowversion 0x0000000000000000 has no predecessor');
  return `0x${(n - 1n).toString(16).toUpperCase().padStart(16, '0')}`;
}
