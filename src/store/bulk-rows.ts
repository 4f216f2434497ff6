// Many rows as one bound parameter, for statements over a whole batch: PostgreSQL reads JSON
// objects through json_to_recordset(), SQLite a JSON array of tuples through json_each(). Either way the
// statement's text is the same whatever the number of rows, so it is parsed (SQLite: compiled,
// on this thread) once per batch, not in proportion to it. Rows are tuples in column order.
import type { Knex } from 'knex';

/**
 * PostgreSQL reads the rows as JSON objects (json_to_recordset, see recordsetFrom). JSON.stringify
 * is native; an array parameter per column costs about twice the client CPU (node-postgres escapes
 * its elements one by one) and no less server time. What the socket and the server's JSON parser
 * pay for is bytes, so a row is as short as it can be:
 * - its keys are a, b, c… by column position, not the column names (recordsetFrom names them back);
 * - a null is left out: json_to_recordset reads a missing key as NULL.
 * A `sending` row of the group commit was 300 bytes, half of it `"…":null`; it is now about 75.
 */
export function recordsetJson(rows: readonly (readonly unknown[])[]): string {
  return JSON.stringify(rows.map((r) => {
    const o: Record<string, unknown> = {};
    for (let i = 0; i < r.length; i++) {
      const v = r[i];
      if (v !== null && v !== undefined) o[KEYS[i]!] = v;
    }
    return o;
  }));
}

/** The JSON keys of a row's columns, by position. */
const KEYS = 'abcdefghijklmnopqrstuvwxyz'.split('');

/**
 * `(select r.a as c1, … from json_to_recordset(?::json) as r(a t1, …)) as <alias>`: the rows of
 * recordsetJson() under their column names (ours, never input), used as a table.
 */
export function recordsetFrom(alias: string, columns: readonly string[], types: readonly string[]): string {
  if (columns.length > KEYS.length) throw new Error(`recordsetFrom: ${columns.length} columns, at most ${KEYS.length}`);
  const names = columns.map((c, i) => `r.${KEYS[i]} as ${c}`).join(', ');
  const defs = columns.map((_, i) => `${KEYS[i]} ${types[i]}`).join(', ');
  return `(select ${names} from json_to_recordset(?::json) as r(${defs})) as ${alias}`;
}

/** `select value ->> 0 as c0, … from json_each(?)` and its one binding: the rows as a JSON array. */
export function jsonEachRows(columns: readonly string[], rows: readonly (readonly unknown[])[]): { sql: string; bindings: Knex.RawBinding[] } {
  return {
    sql: `select ${columns.map((c, i) => `value ->> ${i} as ${c}`).join(', ')} from json_each(?)`,
    bindings: [JSON.stringify(rows)],
  };
}
