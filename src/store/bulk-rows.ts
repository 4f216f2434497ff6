// Many rows as a few bound parameters, for statements over a whole batch: PostgreSQL reads one
// array per column through unnest(), SQLite one JSON array through json_each(). Either way the
// statement's text is the same whatever the number of rows, so it is parsed (SQLite: compiled,
// on this thread) once per batch, not in proportion to it. Rows are tuples in column order.
import type { Knex } from 'knex';

/** `unnest(?::t1[], ?::t2[], …)` and its bindings: one array per column (node-postgres sends each as an array literal). */
export function unnestRows(types: readonly string[], rows: readonly (readonly unknown[])[]): { sql: string; bindings: Knex.RawBinding[] } {
  return {
    sql: `unnest(${types.map((t) => `?::${t}[]`).join(', ')})`,
    bindings: types.map((_, i) => rows.map((r) => r[i] ?? null)) as Knex.RawBinding[],
  };
}

/** `select value ->> 0 as c0, … from json_each(?)` and its one binding: the rows as a JSON array. */
export function jsonEachRows(columns: readonly string[], rows: readonly (readonly unknown[])[]): { sql: string; bindings: Knex.RawBinding[] } {
  return {
    sql: `select ${columns.map((c, i) => `value ->> ${i} as ${c}`).join(', ')} from json_each(?)`,
    bindings: [JSON.stringify(rows)],
  };
}
