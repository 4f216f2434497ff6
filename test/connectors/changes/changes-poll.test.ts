// The incremental keyset cursor on real PostgreSQL, MariaDB and SQLite: ties across pages,
// resuming after a crash, rows committed late within the lag, microsecond precision, NULLs.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import knexFactory, { type Knex } from 'knex';
import { pino } from 'pino';
import { availableDialects, scratchDb, type ScratchDb } from '../../helpers/databases.js';
import { pollChanges, changesPage, rowversionPage, type ChangeCursor, type ChangesPollSpec } from '../../../src/connectors/sql/changes-poll.js';
import { instantToWallTime } from '../../../src/util/local-time.js';
import type { Batch } from '../../../src/connectors/contract.js';

const { run } = await availableDialects();

function spec(knex: Knex, extra: Partial<ChangesPollSpec> = {}): ChangesPollSpec {
  return {
    knex, source: () => knex.select('q.*').from('pratiche as q'), tsColumn: 'q.changed_at', idColumn: 'q.id',
    timeZone: 'Europe/Rome', lagSeconds: 5, pageSize: 10, describe: 'pratiche', startFrom: 'beginning',
    verdict: (row, id) => ({ events: [{ key: `p:${id}:${String(row.stato)}`, type: 't', recipient: { fiscalCode: 'RSSMRA80A01H501U' }, data: {} }] }),
    ...extra,
  };
}

async function drain(s: ChangesPollSpec, cursor?: ChangeCursor, stopAfter = Infinity): Promise<{ keys: string[]; batches: Batch<ChangeCursor>[] }> {
  const batches: Batch<ChangeCursor>[] = [];
  const ctx = { instanceId: 't', config: {}, cursor, now: new Date(), log: pino({ level: 'silent' }), pendingEntities: [], signal: new AbortController().signal };
  for await (const b of pollChanges(s, ctx)) {
    batches.push(b);
    if (batches.length >= stopAfter) break; // a crash: later pages never committed
  }
  return { keys: batches.flatMap((b) => b.events.map((e) => e.key)), batches };
}

const lastCursor = (bs: Batch<ChangeCursor>[]) => bs.filter((b) => b.cursor).at(-1)?.cursor;

describe.each(run)('incremental cursor on %s', (dialect) => {
  let db: ScratchDb;
  beforeEach(async () => {
    db = await scratchDb(dialect);
    await db.knex.schema.createTable('pratiche', (t) => {
      t.integer('id').primary();
      t.string('stato', 20);
      // Microseconds where the database has them (SQLite keeps the text as written).
      if (dialect === 'mariadb') t.specificType('changed_at', 'DATETIME(6) NULL');
      else t.dateTime('changed_at', { precision: 6 });
    });
  });
  afterEach(async () => { await db.destroy(); });

  it('25 rows sharing one change time cross page boundaries exactly once, across runs', async () => {
    await db.knex('pratiche').insert(Array.from({ length: 25 }, (_, i) => ({ id: i + 1, stato: 'A', changed_at: '2026-01-10 10:00:00.000000' })));
    const first = await drain(spec(db.knex));
    expect(first.keys).toEqual(Array.from({ length: 25 }, (_, i) => `p:${i + 1}:A`));
    expect(first.batches.map((b) => b.rowsRead)).toEqual([10, 10, 5]);
    const again = await drain(spec(db.knex), lastCursor(first.batches));
    expect(again.keys).toEqual([]);
    // An update moves a row after the cursor: read once more, with its new state.
    await db.knex('pratiche').where({ id: 3 }).update({ stato: 'B', changed_at: '2026-01-10 11:00:00.000000' });
    expect((await drain(spec(db.knex), lastCursor(first.batches))).keys).toEqual(['p:3:B']);
  });

  it('a crash after page 1 resumes after its cursor: nothing lost, nothing twice', async () => {
    await db.knex('pratiche').insert(Array.from({ length: 23 }, (_, i) => ({ id: i + 1, stato: 'A', changed_at: `2026-01-10 10:00:${String(Math.floor(i / 4)).padStart(2, '0')}.000000` })));
    const crashed = await drain(spec(db.knex), undefined, 1);
    expect(crashed.keys).toHaveLength(10);
    const resumed = await drain(spec(db.knex), lastCursor(crashed.batches));
    expect([...crashed.keys, ...resumed.keys]).toEqual(Array.from({ length: 23 }, (_, i) => `p:${i + 1}:A`));
  });

  it('a row stamped inside the lag is left for the next run, not skipped', async () => {
    await db.knex('pratiche').insert({ id: 1, stato: 'A', changed_at: '2026-01-10 10:00:00.000000' });
    const first = await drain(spec(db.knex));
    // Stamped 2 s ago but committed only now (a long transaction): inside the 5 s lag.
    const recent = instantToWallTime(new Date(Date.now() - 2000), 'Europe/Rome');
    await db.knex('pratiche').insert({ id: 2, stato: 'A', changed_at: `${recent}.000000` });
    const second = await drain(spec(db.knex), lastCursor(first.batches));
    expect(second.keys).toEqual([]);
    const later = await drain(spec(db.knex, { lagSeconds: 0 }), lastCursor(first.batches));
    expect(later.keys).toEqual(['p:2:A']);
  });

  it.runIf(dialect !== 'sqlite')('keeps microseconds: rows 1 µs apart are distinct, the cursor keeps all digits', async () => {
    await db.knex('pratiche').insert([
      { id: 1, stato: 'A', changed_at: '2026-01-10 10:00:00.000001' },
      { id: 2, stato: 'A', changed_at: '2026-01-10 10:00:00.000002' },
      { id: 3, stato: 'A', changed_at: '2026-01-10 10:00:00.000003' },
    ]);
    const s = spec(db.knex, { pageSize: 1 });
    const one = await drain(s, undefined, 1);
    expect(one.batches[0]!.cursor).toEqual({ ts: '2026-01-10T10:00:00.000001', id: '1' });
    // A cursor through a JS Date would have become .000 and re-read row 1 (or lost rows); this one does not.
    const rest = await drain(s, one.batches[0]!.cursor);
    expect(rest.keys).toEqual(['p:2:A', 'p:3:A']);
  });

  it('going live (startFrom: now) notifies only changes made after the first run', async () => {
    await db.knex('pratiche').insert({ id: 1, stato: 'A', changed_at: '2026-01-10 10:00:00.000000' });
    const first = await drain(spec(db.knex, { startFrom: 'now', lagSeconds: 0 }));
    expect(first.keys).toEqual([]);
    expect(first.batches[0]!.cursor!.id).toBeUndefined();
    await new Promise((r) => setTimeout(r, 1100)); // the next change is at least a second later
    await db.knex('pratiche').where({ id: 1 }).update({ stato: 'B', changed_at: `${instantToWallTime(new Date(), 'Europe/Rome')}.000000` });
    const next = await drain(spec(db.knex, { startFrom: 'now', lagSeconds: 0 }), first.batches[0]!.cursor);
    expect(next.keys).toEqual(['p:1:B']);
  });

  it('NULL change times are reported up front, naming the column', async () => {
    await db.knex('pratiche').insert([{ id: 1, stato: 'A', changed_at: null }, { id: 2, stato: 'A', changed_at: '2026-01-10 10:00:00' }]);
    await expect(drain(spec(db.knex))).rejects.toThrow('pratiche: 1 row(s) have a NULL changed_at; an incremental cursor can never read them');
  });
});

describe.skipIf(!run.includes('postgres'))('incremental cursor on a big table (PostgreSQL plan)', () => {
  it('a page deep in a backfill starts its index scan at the cursor instead of filtering every row before it', async () => {
    const db = await scratchDb('postgres');
    try {
      await db.knex.raw(`create table pratiche as select g as id, 'A'::text as stato, timestamp '2026-01-01' + g * interval '1 second' as changed_at from generate_series(1, 20000) g`);
      await db.knex.raw('create index pratiche_cursor on pratiche (changed_at, id)');
      await db.knex.raw('analyze pratiche');
      // The cursor of row 15,000: the next page is rows 15,001–15,010.
      const page = changesPage(spec(db.knex), '2027-01-01 00:00:00.000000', { ts: '2026-01-01 04:10:00.000000', id: '15000' });
      const { sql, bindings } = page.toSQL();
      const plan = ((await db.knex.raw(`explain (analyze, format json) ${sql.replace(/\$\d+/g, '?')}`, bindings as Knex.RawBinding[])) as { rows: [{ 'QUERY PLAN': unknown[] }] }).rows[0]['QUERY PLAN'];
      const removed = [...JSON.stringify(plan).matchAll(/"Rows Removed by Filter":\s*(\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
      expect((await page).map((r: { id: number }) => Number(r.id))).toEqual(Array.from({ length: 10 }, (_, i) => 15_001 + i));
      // Without the lower bound in the index condition this is 15,000: every page rereads the table's head.
      expect(removed).toBeLessThan(10);
    } finally {
      await db.destroy();
    }
  });
});

describe('incremental cursor in T-SQL', () => {
  it('compiles the keyset page with the bound for SQL Server', () => {
    const knex = knexFactory({ client: 'mssql' });
    const q = changesPage({ ...spec(knex), source: () => knex.select('q.*').from('dbo.Pratiche as q') }, '2026-11-24T10:59:55.000', { ts: '2026-11-24T10:00:00.1234567', id: '42' }).toSQL().toNative();
    expect(q.sql).toBe('select top (@p0) [q].*, CONVERT(varchar(33), [q].[changed_at], 126) as [__cursor_ts] from [dbo].[Pratiche] as [q] where [q].[changed_at] <= CONVERT(datetime2(7), @p1, 126) and [q].[changed_at] >= CONVERT(datetime2(7), @p2, 126) and ([q].[changed_at] > CONVERT(datetime2(7), @p3, 126) or ([q].[changed_at] = CONVERT(datetime2(7), @p4, 126) and [q].[id] > @p5)) order by [q].[changed_at] asc, [q].[id] asc');
    expect(q.bindings).toEqual([10, '2026-11-24T10:59:55.000', '2026-11-24T10:00:00.1234567', '2026-11-24T10:00:00.1234567', '2026-11-24T10:00:00.1234567', '42']);
  });

  it('compiles the rowversion page, bounded by MIN_ACTIVE_ROWVERSION() read once before the pages', () => {
    const knex = knexFactory({ client: 'mssql' });
    const source = () => knex.select('q.*').from('dbo.Pratiche as q');
    const first = rowversionPage({ knex, source, tsColumn: 'q.rv', pageSize: 500 }, '0x0000000000000FA0', undefined).toSQL().toNative();
    expect(first.sql).toBe('select top (@p0) [q].*, CONVERT(varchar(18), [q].[rv], 1) as [__cursor_rv] from [dbo].[Pratiche] as [q] where [q].[rv] < CONVERT(binary(8), @p1, 1) order by [q].[rv] asc');
    const next = rowversionPage({ knex, source, tsColumn: 'q.rv', pageSize: 500 }, '0x0000000000000FA0', { ts: '0x00000000000007D1', id: '9' }).toSQL().toNative();
    expect(next.sql).toBe('select top (@p0) [q].*, CONVERT(varchar(18), [q].[rv], 1) as [__cursor_rv] from [dbo].[Pratiche] as [q] where [q].[rv] < CONVERT(binary(8), @p1, 1) and [q].[rv] > CONVERT(binary(8), @p2, 1) order by [q].[rv] asc');
    expect(next.bindings).toEqual([500, '0x0000000000000FA0', '0x00000000000007D1']);
  });

  it('refuses rowversion on other databases', async () => {
    const knex = knexFactory({ client: 'better-sqlite3', connection: { filename: ':memory:' }, useNullAsDefault: true });
    try {
      await expect(drain(spec(knex, { mode: 'rowversion' }))).rejects.toThrow('pratiche: the rowversion cursor exists only on SQL Server');
    } finally {
      await knex.destroy();
    }
  });
});
