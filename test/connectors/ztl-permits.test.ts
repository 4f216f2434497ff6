import knexFactory from 'knex';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import ztlPermits, {
  GONE_REASON, REVOKED_REASON, UNREADABLE_REASON,
  noticesDue, permitVerdict, permitsWindowQuery, ztlPermitsConfigSchema,
} from '../../connectors/ztl-permits/index.js';
import { keysetPage } from '../../src/connectors/sql/window-poll.js';
import { availableDialects, scratchDb, type ScratchDb } from '../helpers/databases.js';
import { createPermitsTable, keysOf, pollOnce, sourceFor } from './poll-helpers.js';

const { run, skipped } = await availableDialects();
if (skipped.length) console.warn(`[ztl-permits] skipped: ${skipped.join('; ')}`);

// 09:00 CET on 28 March 2026: today is 2026-03-28; summer time starts on the 29th.
const NOW = new Date('2026-03-28T08:00:00Z');
const CF = 'RSSMRA80A01H501U'; // fictitious

const ROWS = [
  { id: 1, targa: 'AB123CD', scadenza: '2026-04-04', stato: 'ATTIVO' }, // 7 days left: 7-day notice due today
  { id: 2, targa: 'AB124CD', scadenza: '2026-04-02', stato: 'ATTIVO' }, // 5 days left
  { id: 3, targa: 'AB125CD', scadenza: '2026-04-17', stato: 'ATTIVO' }, // 20 days left
  { id: 4, targa: 'AB126CD', scadenza: '2026-05-27', stato: 'ATTIVO' }, // 60 days left: outside
  { id: 5, targa: 'AB127CD', scadenza: '2026-04-12', stato: 'REVOCATO' },
  { id: 6, targa: 'AB128CD', scadenza: null, stato: 'ATTIVO' },
  { id: 7, targa: null, scadenza: '2026-04-07', stato: 'ATTIVO' },
  { id: 8, targa: 'AB129CD', scadenza: '2026-04-28', stato: 'ATTIVO' }, // today + 31: last day of the window
  { id: 9, targa: 'AB130CD', scadenza: '2026-04-29', stato: 'ATTIVO' }, // today + 32: outside
  { id: 10, targa: 'ab131cd', scadenza: '2026-03-28', stato: ' attivo ' }, // expires today
  { id: 11, targa: 'AB132CD', scadenza: '2026-03-27', stato: 'ATTIVO' }, // expired yesterday: outside
];

describe('noticesDue', () => {
  const days = [30, 7];
  it('keeps upcoming notices and the most recent passed one as a catch-up', () => {
    expect(noticesDue('2026-05-27', '2026-03-28', days)).toEqual([30, 7]);
    expect(noticesDue('2026-04-17', '2026-03-28', days)).toEqual([30, 7]);
    expect(noticesDue('2026-04-02', '2026-03-28', days)).toEqual([7]);
    expect(noticesDue('2026-03-01', '2026-03-28', days)).toEqual([7]);
    expect(noticesDue('2026-04-10', '2026-03-28', [60, 30, 14, 7])).toEqual([14, 7]);
  });
  it('drops the catch-up when a notice falls due today', () => {
    expect(noticesDue('2026-04-04', '2026-03-28', days)).toEqual([7]);
    expect(noticesDue('2026-04-27', '2026-03-28', days)).toEqual([30, 7]);
  });
});

describe('ZTL window SQL for SQL Server', () => {
  it('reads the DATE as text and compares local date bounds with an explicit style', () => {
    const mssql = knexFactory({ client: 'mssql' });
    const cfg = ztlPermitsConfigSchema.parse({ source: { client: 'mssql', connectionEnv: 'BACKOFFICE_URL' }, table: 'dbo.PermessiZTL' });
    const q = keysetPage(permitsWindowQuery(mssql, cfg, NOW), cfg.columns.id, undefined, 500).toSQL().toNative();
    expect(q.sql).toBe(
      'select top (@p0) [id] as [id], [codice_fiscale] as [fiscalCode], [targa] as [plate], [stato] as [status], [telefono] as [phone], [lingua] as [language], '
      + 'CONVERT(varchar(10), [scadenza], 23) as [expiresOn] from [dbo].[PermessiZTL] '
      + 'where ([scadenza] >= CONVERT(date, @p1, 23) and [scadenza] < CONVERT(date, @p2, 23)) order by [id] asc',
    );
    expect(q.bindings).toEqual([500, '2026-03-28', '2026-04-29']);
  });
});

describe('ZTL config', () => {
  it('sorts and deduplicates noticeDays and validates sendAt', () => {
    const src = { client: 'better-sqlite3', filename: 'x.db' };
    expect(ztlPermitsConfigSchema.parse({ source: src, noticeDays: [7, 30, 7] }).noticeDays).toEqual([30, 7]);
    const bad = ztlPermitsConfigSchema.safeParse({ source: src, sendAt: '9:00' });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.path).toEqual(['sendAt']);
  });

  // A cancelled permit's holder was told "chiedi il rinnovo" for a permit that no longer exists.
  it('gives a revoked or cancelled permit no notice, by default', () => {
    const cfg = ztlPermitsConfigSchema.parse({ source: { client: 'better-sqlite3', filename: 'x.db' } });
    const row = { fiscalCode: CF, plate: 'AB123CD', expiresOn: '2026-04-04', status: 'ATTIVO' };
    expect(permitVerdict(row, '1', cfg, '2026-03-28').events).toHaveLength(1);
    for (const status of ['REVOCATO', 'annullato ']) expect(permitVerdict({ ...row, status }, '1', cfg, '2026-03-28'), status).toEqual({ cancel: REVOKED_REASON });
  });
});

describe.each(run)('ZTL permits connector on %s', (dialect) => {
  let db: ScratchDb;
  let config: Record<string, unknown>;

  beforeAll(async () => {
    db = await scratchDb(dialect);
    config = { source: sourceFor(db) };
  });
  afterAll(async () => { await db.destroy(); });
  beforeEach(async () => {
    await db.knex.schema.dropTableIfExists('permessi_ztl');
    await createPermitsTable(db);
    await db.knex('permessi_ztl').insert(ROWS.map((r) => ({ codice_fiscale: CF, telefono: '+39 333 000 0001', lingua: 'it', ...r })));
  });

  it('emits the notices of each permit with exact times (sendAt across the DST change)', async () => {
    const r = await pollOnce(ztlPermits, config, { now: NOW });
    expect(r.events.map((e) => e.key).sort()).toEqual([
      'ztl:10:2026-03-28:7d',
      'ztl:1:2026-04-04:7d',
      'ztl:2:2026-04-02:7d',
      'ztl:3:2026-04-17:30d',
      'ztl:3:2026-04-17:7d',
      'ztl:8:2026-04-28:30d',
      'ztl:8:2026-04-28:7d',
    ]);
    const byKey = new Map(r.events.map((e) => [e.key, e]));
    expect(byKey.get('ztl:3:2026-04-17:7d')).toEqual({
      key: 'ztl:3:2026-04-17:7d',
      type: 'ztl.expiry',
      entity: 'ztl-permit:3',
      rowKey: '3',
      recipient: { fiscalCode: CF, phone: '+39 333 000 0001', language: 'it' },
      data: { plate: 'AB125CD', expiresOn: '2026-04-17', daysBefore: 7 },
      notBefore: new Date('2026-04-10T07:00:00.000Z'), // 09:00 CEST
      expiresAt: new Date('2026-04-16T22:00:00.000Z'), // 00:00 CEST on the expiry day
    });
    expect(byKey.get('ztl:3:2026-04-17:30d')!.notBefore).toEqual(new Date('2026-03-18T08:00:00.000Z')); // 09:00 CET
    expect(byKey.get('ztl:1:2026-04-04:7d')!.notBefore).toEqual(new Date('2026-03-28T08:00:00.000Z'));
    expect(byKey.get('ztl:8:2026-04-28:30d')!.notBefore).toEqual(new Date('2026-03-29T07:00:00.000Z'));
    expect(byKey.get('ztl:10:2026-03-28:7d')!.data.plate).toBe('AB131CD');
    expect(r.cancellations).toEqual([]);
  });

  it('a permit with 5 days left gets only its 7-day notice, due at once', async () => {
    const r = await pollOnce(ztlPermits, config, { now: NOW });
    const events = r.events.filter((e) => e.entity === 'ztl-permit:2');
    expect(events.map((e) => e.key)).toEqual(['ztl:2:2026-04-02:7d']);
    expect(events[0]!.notBefore).toEqual(new Date('2026-03-26T08:00:00.000Z'));
    expect(events[0]!.expiresAt).toEqual(new Date('2026-04-01T22:00:00.000Z'));
  });

  it('reports unusable rows by id and column while the other rows still produce events', async () => {
    const r = await pollOnce(ztlPermits, config, { now: NOW, pendingEntities: ['ztl-permit:6'] });
    expect(r.errors.sort((a, b) => a.rowKey.localeCompare(b.rowKey))).toEqual([
      { rowKey: '6', field: 'scadenza', message: 'missing expiry date' },
      { rowKey: '7', field: 'targa', message: 'missing plate' },
    ]);
    expect(r.cancellations).toEqual([{ entity: 'ztl-permit:6', reason: UNREADABLE_REASON }]);
    expect(r.events).toHaveLength(7);
  });

  it('is stable across runs and keeps an entity set in one batch when paging', async () => {
    const a = await pollOnce(ztlPermits, config, { now: NOW });
    const b = await pollOnce(ztlPermits, { ...config, pageSize: 1 }, { now: NOW });
    expect(b.events.map((e) => e.key).sort()).toEqual(a.events.map((e) => e.key).sort());
    expect(b.batches.length).toBeGreaterThanOrEqual(7);
    const batchOf3 = b.batches.filter((x) => x.events.some((e) => e.entity === 'ztl-permit:3'));
    expect(batchOf3).toHaveLength(1);
    expect(batchOf3[0]!.events.filter((e) => e.entity === 'ztl-permit:3')).toHaveLength(2);
  });

  it('a revoked or deleted permit with pending notices is cancelled', async () => {
    await db.knex('permessi_ztl').where({ id: 1 }).update({ stato: 'revocato' });
    const r = await pollOnce(ztlPermits, config, { now: NOW, pendingEntities: ['ztl-permit:1', 'ztl-permit:5', 'ztl-permit:42'] });
    expect(keysOf(r, 'ztl-permit:1')).toEqual([]);
    expect(r.cancellations.sort((a, b) => a.entity.localeCompare(b.entity))).toEqual([
      { entity: 'ztl-permit:1', reason: REVOKED_REASON },
      { entity: 'ztl-permit:42', reason: GONE_REASON },
      { entity: 'ztl-permit:5', reason: REVOKED_REASON },
    ]);
  });

  it('a renewed permit (new expiry date) replaces its old notices', async () => {
    const before = await pollOnce(ztlPermits, config, { now: NOW });
    expect(keysOf(before, 'ztl-permit:3')).toEqual(['ztl:3:2026-04-17:30d', 'ztl:3:2026-04-17:7d']);
    await db.knex('permessi_ztl').where({ id: 3 }).update({ scadenza: '2027-04-17' });
    const after = await pollOnce(ztlPermits, config, { now: NOW, pendingEntities: ['ztl-permit:3'] });
    expect(keysOf(after, 'ztl-permit:3')).toEqual(['ztl:3:2027-04-17:30d', 'ztl:3:2027-04-17:7d']);
    expect(after.events.find((e) => e.key === 'ztl:3:2027-04-17:30d')!.notBefore).toEqual(new Date('2027-03-18T08:00:00.000Z'));
    expect(after.cancellations).toEqual([]);
  });

  it('honours custom noticeDays and sendAt', async () => {
    const r = await pollOnce(ztlPermits, { ...config, noticeDays: [14, 1], sendAt: '18:30' }, { now: NOW });
    // 7 days left: the 14-day notice as catch-up, the 1-day notice at 18:30 CEST the day before.
    expect(keysOf(r, 'ztl-permit:1')).toEqual(['ztl:1:2026-04-04:14d', 'ztl:1:2026-04-04:1d']);
    expect(r.events.find((e) => e.key === 'ztl:1:2026-04-04:1d')!.notBefore).toEqual(new Date('2026-04-03T16:30:00.000Z'));
    // The window is now today .. today + 15: permits 3 (today + 20) and 8 (today + 31) are not read.
    expect(keysOf(r, 'ztl-permit:3')).toEqual([]);
    expect(keysOf(r, 'ztl-permit:8')).toEqual([]);
  });
});
