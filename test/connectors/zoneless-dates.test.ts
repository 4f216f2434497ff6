// A back-office's zone-less dates and date-times reach a connector as the text the database holds,
// whatever the Ponte process's own time zone: drivers left alone shift them (node-postgres and
// mysql2 into the process zone, tedious as UTC), and a Rome appointment at 10:30 read under
// TZ=UTC printed as 12:30. Columns with a zone stay instants.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableDialects } from '../helpers/databases.js';
import { scratchDb, type ScratchDb } from '../../src/connectors/harness/scratch.js';
import { mssqlWallText, openSqlSource } from '../../src/connectors/sql/source.js';
import { renderTemplate } from '../../src/messages/template.js';

const { run, skipped } = await availableDialects(['postgres', 'mariadb']);
if (skipped.length) console.warn(`[zoneless-dates] skipped: ${skipped.join('; ')}`);

describe.each(run)('zone-less columns read from %s', (dialect) => {
  let db: ScratchDb;
  beforeAll(async () => {
    db = await scratchDb(dialect);
    if (dialect === 'postgres') {
      await db.knex.raw(`create table visite (id int, ora timestamp(3), giorno date, istante timestamptz)`);
      await db.knex.raw(`insert into visite values (1, '2026-06-01 10:30:00', '2026-06-01', '2026-06-01 10:30:00+02'), (2, '2026-01-15 08:05:30.25', '2026-01-15', null), (3, null, null, null)`);
    } else {
      await db.knex.raw(`create table visite (id int, ora datetime(3), giorno date, istante timestamp null)`);
      await db.knex.raw(`insert into visite values (1, '2026-06-01 10:30:00', '2026-06-01', '2026-06-01 10:30:00'), (2, '2026-01-15 08:05:30.25', '2026-01-15', null), (3, null, null, null)`);
    }
  });
  afterAll(async () => { await db?.destroy(); });

  it('hands over the wall-clock text, which templates place in the connector zone', async () => {
    const source = openSqlSource({ client: db.client as 'pg' | 'mysql2', connectionEnv: 'BO' }, { BO: db.url });
    try {
      const rows = (await source('visite').select('id', 'ora', 'giorno').orderBy('id')) as Array<{ id: number; ora: unknown; giorno: unknown }>;
      // Fractional seconds are spelled as each database does; the wall clock is what matters.
      expect(rows.map((r) => [r.id, typeof r.ora === 'string' ? r.ora.replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, '') : r.ora, r.giorno])).toEqual([
        [1, '2026-06-01 10:30:00', '2026-06-01'],
        [2, '2026-01-15 08:05:30.25', '2026-01-15'],
        [3, null, null],
      ]);
      const text = renderTemplate('{{ giorno | date }} alle {{ ora | time }}', { ora: rows[0]!.ora, giorno: rows[0]!.giorno }, { timeZone: 'Europe/Rome' });
      expect(text).toBe('1 giugno 2026 alle 10:30');
      // In winter too (Rome is UTC+1 then, not +2).
      expect(renderTemplate('{{ ora | time }}', { ora: rows[1]!.ora }, { timeZone: 'Europe/Rome' })).toBe('08:05');
    } finally {
      await source.destroy();
    }
  });

  it('keeps a column with a zone as an instant', async () => {
    const source = openSqlSource({ client: db.client as 'pg' | 'mysql2', connectionEnv: 'BO' }, { BO: db.url });
    try {
      const row = (await source('visite').where({ id: 1 }).first('istante')) as { istante: unknown };
      expect(row.istante).toBeInstanceOf(Date);
      // timestamptz carries its offset; a MySQL TIMESTAMP's instant depends on the session zone.
      if (dialect === 'postgres') expect((row.istante as Date).toISOString()).toBe('2026-06-01T08:30:00.000Z');
    } finally {
      await source.destroy();
    }
  });
});

describe('SQL Server (tedious rows, as knex receives them)', () => {
  const col = (type: string, value: unknown) => ({ metadata: { colName: type, type: { name: type } }, value });

  it('turns zone-less types into wall-clock text and leaves DateTimeOffset an instant', () => {
    // With useUTC, tedious encodes a datetime's wall clock (10:30) as the UTC fields of a Date.
    const wall = new Date(Date.UTC(2026, 5, 1, 10, 30, 0, 120));
    const offset = new Date('2026-06-01T08:30:00Z');
    const rows = [[
      col('DateTime', wall), col('DateTimeN', wall), col('DateTime2', wall), col('SmallDateTime', new Date(Date.UTC(2026, 5, 1, 10, 30))),
      col('Date', new Date(Date.UTC(2026, 5, 1))), col('DateTimeOffset', offset), col('NVarChar', 'x'), col('DateTime', null),
    ]];
    mssqlWallText(rows);
    expect(rows[0]!.map((c) => c.value)).toEqual([
      '2026-06-01 10:30:00.120', '2026-06-01 10:30:00.120', '2026-06-01 10:30:00.120', '2026-06-01 10:30:00.000',
      '2026-06-01', offset, 'x', null,
    ]);
    expect(renderTemplate('{{ t | time }}', { t: rows[0]![0]!.value }, { timeZone: 'Europe/Rome' })).toBe('10:30');
  });

  it('asks tedious for UTC explicitly, so the wall clock survives whatever the process zone', async () => {
    const knex = openSqlSource({ client: 'mssql', connectionEnv: 'BO' }, { BO: 'Server=db.comune.local;Database=Anagrafe;User Id=ponte;Password=x' });
    try {
      expect((knex.client as { connectionSettings: { options: Record<string, unknown> } }).connectionSettings.options.useUTC).toBe(true);
    } finally {
      await knex.destroy();
    }
  });
});
