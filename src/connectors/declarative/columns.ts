// Every column connector.yaml names must be in query.sql's result set, checked before a run reads
// a row. A row reads a column it does not have as undefined, exactly like a NULL: a one-letter
// typo (or a column renamed by a back-office upgrade) would make every row "fiscal code missing",
// and a window connector would then cancel every pending reminder as "the row cannot be read".
// The ledger keeps those keys, so fixing the typo afterwards would not bring them back. A missing
// column is a mistake in the connector, not in a row: the run fails, nothing is written or cancelled.
import type { Knex } from 'knex';
import type { DeclarativeSpec } from './schema.js';
import type { CompiledTemplate } from '../../messages/template.js';

export interface MappedColumn {
  /** Where connector.yaml names it, e.g. "event.recipient.fiscalCode". */
  field: string;
  column: string;
}

/** Every column the mapping reads from a row, with the connector.yaml field that names it. */
export function mappedColumns(spec: DeclarativeSpec, key?: CompiledTemplate): MappedColumn[] {
  const ev = spec.event;
  const out: MappedColumn[] = [{ field: 'key', column: spec.key }];
  if (spec.window) out.push({ field: 'window.column', column: spec.window.column });
  if (spec.cursor?.column) out.push({ field: 'cursor.column', column: spec.cursor.column });
  out.push({ field: 'event.recipient.fiscalCode', column: ev.recipient.fiscalCode });
  if (ev.recipient.phone) out.push({ field: 'event.recipient.phone', column: ev.recipient.phone });
  if (ev.recipient.language) out.push({ field: 'event.recipient.language', column: ev.recipient.language });
  for (const [name, column] of Object.entries(ev.data)) out.push({ field: `event.data.${name}`, column });
  for (const [name, column] of Object.entries(ev.dates)) out.push({ field: `event.dates.${name}`, column });
  if (ev.cancelWhen) out.push({ field: 'event.cancelWhen.column', column: ev.cancelWhen.column });
  (ev.only ?? []).forEach((c, i) => out.push({ field: `event.only[${i}].column`, column: c.column }));
  // The dedup key reads a data or dates name first, else the raw column; `id` is always there.
  const names = new Set([...Object.keys(ev.data), ...Object.keys(ev.dates), 'id']);
  for (const v of key?.variables ?? []) {
    const root = v.split('.')[0]!;
    if (!names.has(root)) out.push({ field: 'event.key', column: root });
  }
  return out;
}

/**
 * The names of the columns query.sql returns, as the driver puts them in a row object (the same
 * keys the mapping reads, case included). The query is LEFT JOINed, with `WHERE 1 = 0`, to a
 * one-row table: the answer is always exactly one row whose keys are the query's columns (all
 * NULL), even when the back-office has no row at all, and the database reads no data for it.
 * Plain SQL, the same on all four dialects, with no driver-specific field metadata.
 */
export async function resultColumns(knex: Knex, sql: string): Promise<string[] | null> {
  const probe = `select q.* from (select 1 as ponte_probe) p left join (select * from (${sql}) q0 where 1 = 0) q on 1 = 1`;
  const rows = rowsOf(await knex.raw(probe));
  return rows.length === 1 && rows[0] && typeof rows[0] === 'object' ? Object.keys(rows[0]) : null;
}

/** knex.raw's answer differs by driver: pg { rows }, mysql2 [rows, fields], SQLite and mssql rows. */
function rowsOf(res: unknown): unknown[] {
  if (Array.isArray(res)) return Array.isArray(res[0]) ? (res[0] as unknown[]) : res;
  const rows = (res as { rows?: unknown } | null)?.rows;
  return Array.isArray(rows) ? rows : [];
}

/** The run-failing message when mapped columns are absent from the result set, or null. */
export function missingColumnsMessage(where: { connector: string; yamlFile: string; sqlFile: string }, mapped: MappedColumn[], returned: string[], from: 'query' | 'file header' = 'query'): string | null {
  const have = new Set(returned);
  const missing = mapped.filter((m) => !have.has(m.column));
  if (missing.length === 0) return null;
  const lower = new Map(returned.map((c) => [c.toLowerCase(), c]));
  const described = missing.map((m) => {
    const near = lower.get(m.column.toLowerCase());
    return `${m.field}: "${m.column}"${near ? ` (${from === 'query' ? 'the query returns' : 'the header has'} "${near}": names are case-sensitive)` : ''}`;
  });
  if (from === 'file header') {
    return `${where.connector}: ${where.yamlFile} names column(s) that the header line of ${where.sqlFile} does not have — ${described.join('; ')}. `
      + `The header has: ${returned.join(', ') || '(no column)'}. `
      + 'Nothing was read, stored or cancelled: fix the name in connector.yaml (or ask for the column in the export); the next run reads every row again.';
  }
  return `${where.connector}: ${where.yamlFile} names column(s) that ${where.sqlFile} does not return — ${described.join('; ')}. `
    + `The query returns: ${returned.join(', ') || '(no column)'}. `
    + 'Nothing was read, stored or cancelled: fix the name in connector.yaml or select the column in the query; the next run reads every row again.';
}

export class MissingColumnsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MissingColumnsError';
  }
}

/** Throws MissingColumnsError (the run fails before any row is read) unless every mapped column is returned. */
export async function checkColumns(knex: Knex, spec: DeclarativeSpec, sql: string, where: { connector: string; yamlFile: string; sqlFile: string }, key?: CompiledTemplate): Promise<void> {
  const returned = await resultColumns(knex, sql);
  // Not expected from any driver; but without the columns nothing may be cancelled on a guess.
  if (!returned) throw new MissingColumnsError(`${where.connector}: could not tell which columns ${where.sqlFile} returns; nothing was read, stored or cancelled`);
  const message = missingColumnsMessage(where, mappedColumns(spec, key), returned);
  if (message) throw new MissingColumnsError(message);
}
