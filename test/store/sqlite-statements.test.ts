// The SQLite store keeps each connection's compiled statements (knex would compile every query).
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keepCompiledStatements } from '../../src/store/sqlite-statements.js';
import { openStore, type Store } from '../../src/store/db.js';

let dir: string | undefined;
let store: Store | undefined;
afterEach(async () => {
  await store?.close();
  store = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('kept compiled statements (SQLite)', () => {
  it('compiles a text once, keeps at most `max`, dropping the least recently used', () => {
    const compiled: string[] = [];
    const db = { prepare: (sql: string) => { compiled.push(sql); return { reader: true, sql }; } };
    keepCompiledStatements(db, 2);
    const a = db.prepare('select 1 as a');
    expect(db.prepare('select 1 as a')).toBe(a);
    db.prepare('select 2 as b');
    db.prepare('select 1 as a'); // a is now the most recently used: b goes first
    db.prepare('select 3 as c');
    expect(db.prepare('select 1 as a')).toBe(a);
    db.prepare('select 2 as b');
    expect(compiled).toEqual(['select 1 as a', 'select 2 as b', 'select 3 as c', 'select 2 as b']);
  });

  it('the store reuses them through knex, and a kept statement sees a schema change', async () => {
    dir = mkdtempSync(join(tmpdir(), 'ponte-stmts-'));
    store = openStore({ client: 'sqlite', filename: join(dir, 's.sqlite') });
    await store.knex.raw('create table t (a integer)');
    await store.knex('t').insert({ a: 1 });
    const read = () => store!.knex.raw('select * from t') as Promise<Array<Record<string, unknown>>>;
    expect(await read()).toEqual([{ a: 1 }]);
    const conn = (await store.knex.client.acquireConnection()) as { prepare(sql: string): unknown };
    await store.knex.client.releaseConnection(conn);
    expect(conn.prepare('select * from t')).toBe(conn.prepare('select * from t'));
    await store.knex.raw('alter table t add column b text default \'x\'');
    expect(await read()).toEqual([{ a: 1, b: 'x' }]);
    // Bindings are fresh on every run of a kept statement.
    expect(await store.knex('t').where({ a: 1 }).select('a')).toEqual([{ a: 1 }]);
    expect(await store.knex('t').where({ a: 2 }).select('a')).toEqual([]);
  });
});
