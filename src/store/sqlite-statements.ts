// knex's better-sqlite3 client compiles every query anew (`connection.prepare(sql)` per call), and
// better-sqlite3 keeps nothing: the dispatcher's group-commit UPDATE, the claim and the attempts
// INSERT were compiled on every run, ~190 µs each for the UPDATE, on the one thread that also
// sends the requests. The store's statements are few and their texts fixed (rows travel as JSON
// parameters), so each connection keeps its compiled statements, the least recently used dropped
// past a bound (texts that vary, such as `in (?, ?, …)` lists, cannot grow it without end).
// Safe because knex runs a statement to completion (all()/run(), synchronous) before the next use;
// SQLite itself recompiles a kept statement when the schema changes under it.

interface Statement {
  readonly reader: boolean;
}
export interface PreparingDatabase {
  prepare(sql: string): Statement;
}

export const STATEMENTS_KEPT = 200;

/** Makes `db.prepare` return the kept statement for a text it compiled before. */
export function keepCompiledStatements<D extends PreparingDatabase>(db: D, max = STATEMENTS_KEPT): D {
  const compile = db.prepare.bind(db);
  const kept = new Map<string, Statement>();
  db.prepare = (sql: string) => {
    let s = kept.get(sql);
    if (s) {
      kept.delete(sql); // re-inserted: Map order is least recently used first
    } else {
      s = compile(sql);
      if (kept.size >= max) kept.delete(kept.keys().next().value!);
    }
    kept.set(sql, s);
    return s;
  };
  return db;
}
