// Each PostgreSQL store connection asks the server to check that its client is there
// (client_connection_check_interval); a server that refuses the setting still gives a connection.
import { describe, expect, it } from 'vitest';
import { checkingClient } from '../../src/store/db.js';

function created(answer: Error | null): Promise<{ e: Error | null; sql: string[] }> {
  const sql: string[] = [];
  const conn = { query: (text: string, cb: (e: Error | null) => void) => { sql.push(text); setImmediate(() => cb(answer)); } };
  const passThrough = (raw: unknown, done: (e: Error | null, c: unknown) => void) => done(null, raw);
  return new Promise((ok) => checkingClient(passThrough)(conn, (e) => ok({ e, sql })));
}

const withCode = (code: string) => Object.assign(new Error(code), { code });

describe('checkingClient', () => {
  it('sets the check, and gives the connection whether the server takes the setting or refuses it', async () => {
    expect(await created(null)).toEqual({ e: null, sql: ['set client_connection_check_interval = 1000'] });
    expect((await created(withCode('42704'))).e).toBeNull(); // PostgreSQL 12, 13: no such setting
    expect((await created(withCode('22023'))).e).toBeNull(); // a server platform that cannot watch sockets
  });

  it('fails the creation of a connection lost meanwhile', async () => {
    expect((await created(withCode('ECONNRESET'))).e).toMatchObject({ code: 'ECONNRESET' });
    expect((await created(withCode('PONTE_QUERY_TIMEOUT'))).e).toMatchObject({ code: 'PONTE_QUERY_TIMEOUT' });
  });
});
