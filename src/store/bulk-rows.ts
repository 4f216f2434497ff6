// Many rows as one bound parameter, for statements over a whole batch: PostgreSQL reads JSON
// objects through json_to_recordset(), SQLite a JSON array of tuples through json_each(). Either way the
// statement's text is the same whatever the number of rows, so it is parsed (SQLite: compiled,
// on this thread) once per batch, not in proportion to it. Rows are tuples in column order.
import type { Knex } from 'knex';

/**
 * PostgreSQL reads the rows as JSON objects keyed by column (json_to_recordset, see recordsetFrom).
 * JSON.stringify is native; an array parameter per column costs about twice the client CPU
 * (node-postgres escapes its elements one by one) and no less server time.
 * A null is left out: json_to_recordset reads a missing key as NULL, and most of a state change's
 * columns are null (a `sending` row was half `"…":null`, bytes the socket and the server paid for).
 */
export function recordsetJson(columns: readonly string[], rows: readonly (readonly unknown[])[]): string {
  return JSON.stringify(rows.map((r) => {
    const o: Record<string, unknown> = {};
    for (let i = 0; i < columns.length; i++) {
      const v = r[i];
      if (v !== null && v !== undefined) o[columns[i]!] = v;
    }
    return o;
  }));
}

/** `json_to_recordset(?::json) as <alias>(c1 t1, …)`: the column names are written in (ours, never input). */
export function recordsetFrom(alias: string, columns: readonly string[], types: readonly string[]): string {
  return `json_to_recordset(?::json) as ${alias}(${columns.map((c, i) => `${c} ${types[i]}`).join(', ')})`;
}

/** `select value ->> 0 as c0, … from json_each(?)` and its one binding: the rows as a JSON array. */
export function jsonEachRows(columns: readonly string[], rows: readonly (readonly unknown[])[]): { sql: string; bindings: Knex.RawBinding[] } {
  return {
    sql: `select ${columns.map((c, i) => `value ->> ${i} as ${c}`).join(', ')} from json_each(?)`,
    bindings: [JSON.stringify(rows)],
  };
}
