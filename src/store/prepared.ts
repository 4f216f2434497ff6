// Ponte's hot PostgreSQL statements as named prepared statements: the dispatcher's group commits,
// the attempts log, and a connector batch's commit. Sent through knex, every statement is parsed
// and planned again on each execution: a quarter of the server's time at the dispatcher's rate,
// and 6.7 of the ~37 ms a 1,000-row ingest batch spends in the server. Their text never changes
// (the rows are JSON parameters), so each connection parses one once and PostgreSQL settles on a
// generic plan after a few runs. Other stores: knex.raw (SQLite: the connection keeps its compiled statements, see sqlite-statements.ts).
import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import type { Store } from './db.js';

interface PgConnection {
  query(q: { name: string; text: string; values: unknown[] }): Promise<{ rows: unknown[]; rowCount: number | null }>;
}
interface PoolClient {
  acquireConnection(): Promise<PgConnection>;
  releaseConnection(c: PgConnection): Promise<void>;
}

/** Our SQL in PostgreSQL's form: `?` placeholders numbered, and a stable name for the text. */
const translated = new Map<string, { name: string; text: string }>();

function pgForm(sql: string): { name: string; text: string } {
  let t = translated.get(sql);
  if (!t) {
    let n = 0;
    // Only Ponte's own SQL comes here: `?` is always a placeholder (no jsonb `?` operator, no literals with it).
    const text = sql.replace(/\?/g, () => `$${++n}`);
    t = { name: `ponte_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`, text };
    translated.set(sql, t);
  }
  return t;
}

/** Runs one statement of Ponte's (`?` placeholders) and returns its rows. */
export async function queryRows<R>(store: Store, sql: string, bindings: readonly unknown[]): Promise<R[]> {
  if (store.dialect !== 'postgres') {
    const result = (await store.knex.raw(sql, bindings as Knex.RawBinding[])) as R[] | { rows?: R[] };
    return Array.isArray(result) ? result : (result.rows ?? []);
  }
  return pgRows(store.knex, sql, bindings);
}

/**
 * PostgreSQL only: the statement as a named prepared statement, on a pooled connection or, when
 * `knex` is a transaction, on the transaction's own (knex's transaction client hands that out).
 */
export async function pgRows<R>(knex: Knex, sql: string, bindings: readonly unknown[]): Promise<R[]> {
  const { name, text } = pgForm(sql);
  const pool = knex.client as unknown as PoolClient;
  const conn = await pool.acquireConnection();
  try {
    return (await conn.query({ name, text, values: bindings as unknown[] })).rows as R[];
  } finally {
    await pool.releaseConnection(conn);
  }
}
