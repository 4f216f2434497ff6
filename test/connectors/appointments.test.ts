import knexFactory from 'knex';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import appointments, {
  CANCELLED_REASON, GONE_REASON, NOT_CONFIRMED_REASON, UNREADABLE_REASON,
  appointmentsByIds, appointmentsConfigSchema, appointmentsWindowQuery,
} from '../../connectors/appointments/index.js';
import { keysetPage } from '../../src/connectors/sql/window-poll.js';
import { availableDialects, scratchDb, type ScratchDb } from '../helpers/databases.js';
import { createAppointmentsTable, keysOf, pollOnce, sourceFor } from './poll-helpers.js';

const { run, skipped } = await availableDialects();
if (skipped.length) console.warn(`[appointments] skipped: ${skipped.join('; ')}`);

// 09:00 CET on Saturday 28 March 2026; clocks go forward at 02:00 on Sunday 29 March.
const NOW = new Date('2026-03-28T08:00:00Z');
const CF = 'RSSMRA80A01H501U'; // fictitious (textbook example)
const BAD_CF = 'BNCLRA85M41F205D'; // fictitious, wrong check character

const ROWS = [
  { id: 1, codice_fiscale: CF, telefono: '+39 333 000 0001', lingua: 'EN', data_ora: '2026-03-29 10:00:00', stato: 'CONFERMATO', ufficio: 'Ufficio Anagrafe – Piazza del Comune 1', servizio: "Carta d'identità", indirizzo: 'Piazza del Comune 1' },
  // Status padded and lower-case, fiscal code lower-case with spaces, optional fields NULL.
  { id: 2, codice_fiscale: ` ${CF.toLowerCase()} `, telefono: null, lingua: null, data_ora: '2026-03-28 15:30:00', stato: ' confermato ', ufficio: null, servizio: null, indirizzo: null },
  { id: 3, codice_fiscale: CF, data_ora: '2026-03-30 09:00:00', stato: 'ANNULLATO' },
  { id: 4, codice_fiscale: CF, data_ora: null, stato: 'CONFERMATO' },
  { id: 5, codice_fiscale: null, data_ora: '2026-03-29 11:00:00', stato: 'CONFERMATO' },
  { id: 6, codice_fiscale: CF, data_ora: '2026-04-10 09:00:00', stato: 'CONFERMATO' },
  { id: 7, codice_fiscale: CF, data_ora: '2026-03-29 12:00:00', stato: 'DA CONFERMARE' },
  { id: 8, codice_fiscale: CF, data_ora: '2026-03-28 08:30:00', stato: 'CONFERMATO' },
  // now + 72 h is 10:00 CEST on 31 March: inclusive upper bound.
  { id: 9, codice_fiscale: CF, data_ora: '2026-03-31 10:00:00', stato: 'CONFERMATO' },
  { id: 10, codice_fiscale: CF, data_ora: '2026-03-31 10:00:01', stato: 'CONFERMATO' },
  // The connector does not validate fiscal codes: the runner does.
  { id: 11, codice_fiscale: BAD_CF, data_ora: '2026-03-29 16:45:00', stato: 'CONFERMATO' },
];

describe('appointments window SQL for SQL Server', () => {
  const mssql = knexFactory({ client: 'mssql' });
  const cfg = appointmentsConfigSchema.parse({ source: { client: 'mssql', connectionEnv: 'BACKOFFICE_URL' }, table: 'dbo.Appuntamenti' });

  it('reads datetime2 as text, compares bounds with an explicit style, pages by key', () => {
    const q = keysetPage(appointmentsWindowQuery(mssql, cfg, NOW), cfg.columns.id, 41, 1000).toSQL().toNative();
    expect(q.sql).toBe(
      'select top (@p0) [id] as [id], [codice_fiscale] as [fiscalCode], [stato] as [status], [telefono] as [phone], [lingua] as [language], '
      + '[ufficio] as [office], [servizio] as [service], [indirizzo] as [address], CONVERT(varchar(33), [data_ora], 126) as [startsAt] '
      + 'from [dbo].[Appuntamenti] '
      + 'where (([data_ora] >= CONVERT(datetime2, @p1, 120) and [data_ora] <= CONVERT(datetime2, @p2, 120)) '
      + 'or ([data_ora] is null and UPPER(LTRIM(RTRIM(CAST([stato] AS nvarchar(400))))) in (@p3))) and [id] > @p4 order by [id] asc',
    );
    expect(q.bindings).toEqual([1000, '2026-03-28 09:00:00', '2026-03-31 10:00:00', 'CONFERMATO', 41]);
  });

  it('re-reads pending ids with the same columns', () => {
    const q = appointmentsByIds(mssql, cfg, ['12', '13']).toSQL().toNative();
    expect(q.sql).toMatch(/from \[dbo\]\.\[Appuntamenti\] where \[id\] in \(@p0, @p1\)$/);
    expect(q.bindings).toEqual(['12', '13']);
  });

  it('leaves optional columns out when configured as null', () => {
    const c = appointmentsConfigSchema.parse({ source: { client: 'mssql', connectionEnv: 'X' }, columns: { phone: null, language: null, address: null, startsAt: 'DataOra' } });
    const sql = appointmentsWindowQuery(mssql, c, NOW).toSQL().toNative().sql;
    expect(sql).not.toMatch(/telefono|lingua|indirizzo/);
    expect(sql).toContain('CONVERT(varchar(33), [DataOra], 126) as [startsAt]');
  });
});

describe('appointments config', () => {
  it('rejects a lead time longer than the look-ahead, naming the setting', () => {
    const r = appointmentsConfigSchema.safeParse({ source: { client: 'better-sqlite3', filename: 'x.db' }, leadHours: 96 });
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues)).toContain('lookaheadHours');
  });
});

describe.each(run)('appointments connector on %s', (dialect) => {
  let db: ScratchDb;
  let config: Record<string, unknown>;

  beforeAll(async () => {
    db = await scratchDb(dialect);
    config = { source: sourceFor(db) };
  });
  afterAll(async () => { await db.destroy(); });
  beforeEach(async () => {
    await db.knex.schema.dropTableIfExists('appuntamenti');
    await createAppointmentsTable(db);
    await db.knex('appuntamenti').insert(ROWS.map((r) => ({ telefono: null, lingua: null, ufficio: null, servizio: null, indirizzo: null, ...r })));
  });

  it('emits one reminder per confirmed appointment in the window, with exact times (DST crossing)', async () => {
    const r = await pollOnce(appointments, config, { now: NOW });
    expect(r.events.map((e) => e.key).sort()).toEqual([
      'appointment:11:2026-03-29T16:45:00:24h',
      'appointment:1:2026-03-29T10:00:00:24h',
      'appointment:2:2026-03-28T15:30:00:24h',
      'appointment:9:2026-03-31T10:00:00:24h',
    ]);
    const e1 = r.events.find((e) => e.entity === 'appointment:1')!;
    // 10:00 CEST on 29 March = 08:00Z; 24 h earlier is 09:00 CET on 28 March (08:00Z).
    expect(e1).toEqual({
      key: 'appointment:1:2026-03-29T10:00:00:24h',
      type: 'appointment.reminder',
      entity: 'appointment:1',
      rowKey: '1',
      recipient: { fiscalCode: CF, phone: '+39 333 000 0001', language: 'en' },
      data: { start: '2026-03-29T08:00:00.000Z', office: 'Ufficio Anagrafe – Piazza del Comune 1', service: "Carta d'identità", address: 'Piazza del Comune 1' },
      notBefore: new Date('2026-03-28T08:00:00.000Z'),
      expiresAt: new Date('2026-03-29T08:00:00.000Z'),
    });
    const e2 = r.events.find((e) => e.entity === 'appointment:2')!;
    expect(e2.recipient).toEqual({ fiscalCode: CF });
    expect(e2.data).toEqual({ start: '2026-03-28T14:30:00.000Z' });
    expect(e2.notBefore).toEqual(new Date('2026-03-27T14:30:00.000Z'));
    expect(e2.expiresAt).toEqual(new Date('2026-03-28T14:30:00.000Z'));
    expect(r.events.find((e) => e.entity === 'appointment:11')!.recipient.fiscalCode).toBe(BAD_CF);
    expect(r.cancellations).toEqual([]);
  });

  it('reports unusable rows by id and column while the other rows still produce events', async () => {
    const r = await pollOnce(appointments, config, { now: NOW });
    expect(r.errors.sort((a, b) => a.rowKey.localeCompare(b.rowKey))).toEqual([
      { rowKey: '4', field: 'data_ora', message: 'missing appointment date/time' },
      { rowKey: '5', field: 'codice_fiscale', message: 'missing fiscal code' },
    ]);
    expect(JSON.stringify(r.errors)).not.toContain(CF);
    expect(r.events).toHaveLength(4);
  });

  it('yields the same events on every run (stable keys)', async () => {
    const a = await pollOnce(appointments, config, { now: NOW });
    const b = await pollOnce(appointments, config, { now: NOW });
    expect(b.events).toEqual(a.events);
    // A later run with an overlapping window repeats every event identically (row 10 enters).
    const c = await pollOnce(appointments, config, { now: new Date(NOW.getTime() + 5 * 60_000) });
    expect(c.events).toEqual(expect.arrayContaining(a.events));
    expect(c.events.map((e) => e.key)).toContain('appointment:10:2026-03-31T10:00:01:24h');
  });

  it('pages by primary key without losing or repeating rows', async () => {
    const all = await pollOnce(appointments, config, { now: NOW });
    const paged = await pollOnce(appointments, { ...config, pageSize: 2 }, { now: NOW });
    expect(paged.batches.length).toBeGreaterThan(2);
    expect(paged.batches.every((b) => (b.rowsRead ?? 0) <= 2)).toBe(true);
    expect(paged.events.map((e) => e.key).sort()).toEqual(all.events.map((e) => e.key).sort());
    expect(paged.errors).toHaveLength(2);
  });

  it('re-reads pending entities: cancelled, no longer confirmed, deleted, moved far away, unreadable', async () => {
    const r = await pollOnce(appointments, config, {
      now: NOW,
      pendingEntities: ['appointment:3', 'appointment:7', 'appointment:999', 'appointment:6', 'appointment:1', 'appointment:4', 'ztl-permit:3'],
    });
    expect(r.cancellations.sort((a, b) => a.entity.localeCompare(b.entity))).toEqual([
      { entity: 'appointment:3', reason: CANCELLED_REASON },
      { entity: 'appointment:4', reason: UNREADABLE_REASON },
      { entity: 'appointment:7', reason: NOT_CONFIRMED_REASON },
      { entity: 'appointment:999', reason: GONE_REASON },
    ]);
    // Outside the window but pending: its set is still emitted.
    expect(keysOf(r, 'appointment:6')).toEqual(['appointment:6:2026-04-10T09:00:00:24h']);
    // In the window and pending: emitted once.
    expect(keysOf(r, 'appointment:1')).toEqual(['appointment:1:2026-03-29T10:00:00:24h']);
  });

  it('a rescheduled appointment gets a new key and its old key leaves the set', async () => {
    const before = await pollOnce(appointments, config, { now: NOW });
    expect(keysOf(before, 'appointment:2')).toEqual(['appointment:2:2026-03-28T15:30:00:24h']);

    await db.knex('appuntamenti').where({ id: 2 }).update({ data_ora: '2026-03-30 16:00:00' });
    await db.knex('appuntamenti').where({ id: 1 }).update({ data_ora: '2026-04-20 10:00:00' }); // beyond the look-ahead
    const after = await pollOnce(appointments, config, { now: NOW, pendingEntities: ['appointment:2', 'appointment:1'] });
    expect(keysOf(after, 'appointment:2')).toEqual(['appointment:2:2026-03-30T16:00:00:24h']);
    expect(keysOf(after, 'appointment:1')).toEqual(['appointment:1:2026-04-20T10:00:00:24h']);
    const moved = after.events.find((e) => e.entity === 'appointment:1')!;
    expect(moved.notBefore).toEqual(new Date('2026-04-19T08:00:00.000Z'));
    expect(after.cancellations).toEqual([]);
  });

  it('cancelled and deleted pending appointments are cancelled', async () => {
    await db.knex('appuntamenti').where({ id: 1 }).update({ stato: 'ANNULLATO' });
    await db.knex('appuntamenti').where({ id: 2 }).delete();
    const r = await pollOnce(appointments, config, { now: NOW, pendingEntities: ['appointment:1', 'appointment:2'] });
    expect(keysOf(r, 'appointment:1')).toEqual([]);
    expect(keysOf(r, 'appointment:2')).toEqual([]);
    expect(r.cancellations.sort((a, b) => a.entity.localeCompare(b.entity))).toEqual([
      { entity: 'appointment:1', reason: CANCELLED_REASON },
      { entity: 'appointment:2', reason: GONE_REASON },
    ]);
  });

  it('handles the autumn DST overlap deterministically (earlier instant)', async () => {
    await db.knex('appuntamenti').insert({ id: 20, codice_fiscale: CF, data_ora: '2026-10-25 02:30:00', stato: 'CONFERMATO' });
    const now = new Date('2026-10-23T12:00:00Z');
    const r = await pollOnce(appointments, config, { now });
    const e = r.events.find((x) => x.entity === 'appointment:20')!;
    expect(e.key).toBe('appointment:20:2026-10-25T02:30:00:24h');
    expect(e.expiresAt).toEqual(new Date('2026-10-25T00:30:00.000Z'));
    expect(e.notBefore).toEqual(new Date('2026-10-24T00:30:00.000Z'));
  });

  it('re-reads pending ids in chunks', async () => {
    const pending = Array.from({ length: 1200 }, (_, i) => `appointment:${1000 + i}`);
    const r = await pollOnce(appointments, config, { now: NOW, pendingEntities: [...pending, 'appointment:6'] });
    expect(r.cancellations).toHaveLength(1200);
    expect(r.batches).toHaveLength(1 + 3); // the window page, then 1201 ids in chunks of 500
    expect(r.cancellations.every((c) => c.reason === GONE_REASON)).toBe(true);
    expect(keysOf(r, 'appointment:6')).toHaveLength(1);
  });

  it('check() names the table when a column is missing', async () => {
    const cfg = appointments.configSchema.parse({ ...config, columns: { office: 'sede' } });
    await expect(appointments.check!(cfg, (await import('pino')).pino({ level: 'silent' }))).rejects.toThrow(/appointments: table appuntamenti: cannot be read with the configured columns/);
    const ok = appointments.configSchema.parse(config);
    await expect(appointments.check!(ok, (await import('pino')).pino({ level: 'silent' }))).resolves.toBeUndefined();
  });
});
