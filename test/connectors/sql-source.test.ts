import knexFactory from 'knex';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp-dir.js';
import { dialectOf, openSqlSource, sqlSourceSchema, unansweredBackOffice } from '../../src/connectors/sql/source.js';
import { QueryTimeoutError } from '../../src/store/query-timeout.js';

describe('sqlSourceSchema', () => {
  it('requires connectionEnv for server databases and filename (or env) for SQLite', () => {
    const pg = sqlSourceSchema.safeParse({ client: 'pg' });
    expect(pg.success).toBe(false);
    expect(pg.error?.issues[0]?.path).toEqual(['connectionEnv']);
    expect(sqlSourceSchema.safeParse({ client: 'better-sqlite3' }).success).toBe(false);
    expect(sqlSourceSchema.safeParse({ client: 'better-sqlite3', filename: 'demo.sqlite' }).success).toBe(true);
    expect(sqlSourceSchema.safeParse({ client: 'mssql', connectionEnv: 'X', filename: 'a' }).success).toBe(false);
  });

  it('refuses a secret pasted where the variable name goes, and unknown keys', () => {
    expect(sqlSourceSchema.safeParse({ client: 'pg', connectionEnv: 'postgres://u:p@h/db' }).success).toBe(false);
    expect(sqlSourceSchema.safeParse({ client: 'pg', connectionEnv: 'X', password: 'p' }).success).toBe(false);
  });
});

describe('source.queryTimeoutSeconds', () => {
  it('is a positive number of seconds, an hour at most', () => {
    expect(sqlSourceSchema.safeParse({ client: 'pg', connectionEnv: 'X', queryTimeoutSeconds: 120 }).success).toBe(true);
    expect(sqlSourceSchema.safeParse({ client: 'pg', connectionEnv: 'X', queryTimeoutSeconds: 0 }).success).toBe(false);
    expect(sqlSourceSchema.safeParse({ client: 'pg', connectionEnv: 'X', queryTimeoutSeconds: 7200 }).success).toBe(false);
  });

  it("is SQL Server's requestTimeout (60 s by default, where tedious' own is 15 s), over one in the connection string", async () => {
    const url = 'mssql://ponte_ro:x@127.0.0.1:1/SUE?requestTimeout=5000';
    for (const [source, ms] of [[{}, 60_000], [{ queryTimeoutSeconds: 90 }, 90_000]] as const) {
      const knex = openSqlSource({ client: 'mssql', connectionEnv: 'BO', ...source }, { BO: url });
      try {
        const client = knex.client as { connectionSettings: Record<string, unknown>; _generateConnection(): { options: { requestTimeout: number } } };
        expect(client._generateConnection().options.requestTimeout).toBe(ms);
      } finally {
        await knex.destroy();
      }
    }
  });

  it("tedious' timeout reads as the others' do, naming the setting", () => {
    const tedious = Object.assign(new Error('Timeout: Request failed to complete in 60000ms'), { code: 'ETIMEOUT' });
    const said = unansweredBackOffice(tedious, { client: 'mssql', connectionEnv: 'BO' });
    expect(said).toBeInstanceOf(QueryTimeoutError);
    expect((said as Error).message).toBe('the back-office database did not answer within 60 s (source.queryTimeoutSeconds); the query was cancelled');
    const refused = Object.assign(new Error('Invalid column name'), { code: 'EREQUEST' });
    expect(unansweredBackOffice(refused, { client: 'mssql', connectionEnv: 'BO' })).toBe(refused);
  });
});

describe('openSqlSource', () => {
  it('names the missing environment variable', () => {
    expect(() => openSqlSource({ client: 'pg', connectionEnv: 'PONTE_NOT_SET_XYZ' }, {})).toThrow('environment variable PONTE_NOT_SET_XYZ is not set');
  });

  it('accepts an ADO.NET SQL Server connection string', async () => {
    const knex = openSqlSource({ client: 'mssql', connectionEnv: 'BO' }, { BO: 'Server=db.comune.local,1444;Database=Anagrafe;User Id=ponte;Password=s3gr3t0;Encrypt=true;TrustServerCertificate=true' });
    try {
      expect(dialectOf(knex)).toBe('mssql');
      const settings = (knex.client as { connectionSettings: Record<string, unknown> }).connectionSettings;
      expect(settings).toMatchObject({ server: 'db.comune.local', port: 1444, database: 'Anagrafe', user: 'ponte', options: { encrypt: true, trustServerCertificate: true } });
    } finally {
      await knex.destroy();
    }
  });

  it('accepts an mssql:// URL, its port as a number (tedious refuses it as text)', async () => {
    const knex = openSqlSource({ client: 'mssql', connectionEnv: 'BO' }, { BO: 'mssql://ponte_ro:S3gr%40to@127.0.0.1:1/SUE?encrypt=true&trustServerCertificate=false' });
    try {
      const settings = (knex.client as { connectionSettings: Record<string, unknown> }).connectionSettings;
      expect(settings).toMatchObject({ server: '127.0.0.1', port: 1, database: 'SUE', user: 'ponte_ro', password: 'S3gr@to', options: { encrypt: true, trustServerCertificate: false } });
      // Nothing listens on port 1: the connection is refused, where it used to fail on the port's type.
      await expect(knex.raw('select 1')).rejects.toThrow(/Failed to connect to 127\.0\.0\.1:1/);
    } finally {
      await knex.destroy();
    }
  });

  it('does not echo an unparsable connection string (it may hold a password)', () => {
    let message = '';
    try {
      openSqlSource({ client: 'mssql', connectionEnv: 'BO' }, { BO: 'Password=s3gr3t0;;=;Database' });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain('BO');
    expect(message).not.toContain('s3gr3t0');
  });

  it('opens SQLite read-only: no write, no empty file created for a wrong path', async () => {
    const dir = tempDir('src');
    const filename = join(dir, 'backoffice.sqlite');
    const writer = knexFactory({ client: 'better-sqlite3', connection: { filename }, useNullAsDefault: true });
    await writer.schema.createTable('t', (t) => { t.integer('n'); });
    await writer.destroy();

    const knex = openSqlSource({ client: 'better-sqlite3', filename });
    // A wrong path is named at once (SQLite alone said "unable to open database file").
    expect(() => openSqlSource({ client: 'better-sqlite3', connectionEnv: 'BO' }, { BO: join(dir, 'typo.sqlite') })).toThrow(/the SQLite file .*typo\.sqlite does not exist/);
    try {
      expect(dialectOf(knex)).toBe('sqlite');
      expect(await knex('t').count({ n: '*' })).toEqual([{ n: 0 }]);
      await expect(knex('t').insert({ n: 1 })).rejects.toThrow(/readonly/);
      expect(existsSync(join(dir, 'typo.sqlite'))).toBe(false);
    } finally {
      await knex.destroy();
    }
  });
});
