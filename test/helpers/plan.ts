// The plan a store chooses for a statement, as one string to match against (index names, "SCAN",
// "Seq Scan"): SQLite's EXPLAIN QUERY PLAN or PostgreSQL's EXPLAIN, with the bindings inlined.
import type { TestStore } from './store.js';

/** `sql` as knex builds it (`?` placeholders) or as its query event reports it (PostgreSQL's `$1`). */
export async function planOf(store: TestStore, sql: string, bindings: readonly unknown[] = []): Promise<string> {
  const inlined = store.knex.raw(sql.replace(/\$\d+/g, '?'), bindings as never).toString();
  return JSON.stringify(store.scratch.dialect === 'sqlite'
    ? await store.knex.raw(`explain query plan ${inlined}`)
    : ((await store.knex.raw(`explain ${inlined}`)) as { rows: unknown[] }).rows);
}
