// A declarative connector whose connector.yaml names a column query.sql does not return (a typo,
// or a column renamed by the back-office) must fail the run before reading a row: read as
// undefined, the column looked like a NULL on every row, and a window connector then cancelled
// every pending reminder as "the back-office row cannot be read". And a query the database
// refuses is named by connector and file, with the database's message, not the generated SQL.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { availableDialects, scratchDb, type ScratchDb } from '../helpers/databases.js';
import { tempDir } from '../helpers/temp-dir.js';
import { createRateTari } from './poll-helpers.js';
import { declarativeConnector } from '../../src/connectors/declarative/load.js';
import type { Batch } from '../../src/connectors/contract.js';

const { run } = await availableDialects();
const NOW = new Date('2026-11-24T10:00:00Z');
const CF = 'RSSMRA80A01H501U';

/** A copy of a reference connector with its files edited; returns its connector.yaml. */
function edited(name: string, yaml?: (s: string) => string, sql?: (s: string) => string): string {
  const folder = join(tempDir('cols'), 'connectors', name);
  cpSync(`connectors/${name}`, folder, { recursive: true });
  for (const [file, edit] of [['connector.yaml', yaml], ['query.sql', sql]] as const) {
    if (!edit) continue;
    const text = readFileSync(join(folder, file), 'utf8');
    const changed = edit(text);
    if (changed === text) throw new Error(`the edit of ${file} changed nothing`);
    writeFileSync(join(folder, file), changed);
  }
  return join(folder, 'connector.yaml');
}

async function poll(file: string, config: unknown, pending: string[] = []): Promise<{ batches: Batch[]; error?: Error }> {
  const conn = declarativeConnector(file);
  const batches: Batch[] = [];
  try {
    for await (const b of conn.poll({ instanceId: 't', config: conn.configSchema.parse(config), cursor: undefined, now: NOW, log: pino({ level: 'silent' }), pendingEntities: pending, signal: new AbortController().signal } as never)) batches.push(b);
  } catch (e) {
    return { batches, error: e as Error };
  }
  return { batches };
}

describe.each(run)('declarative connector columns on %s', (dialect) => {
  let db: ScratchDb;
  beforeEach(async () => {
    db = await scratchDb(dialect);
    await createRateTari(db.knex);
    await db.knex.schema.createTable('pratiche_edilizie', (t) => {
      t.integer('id').primary(); t.string('numero_pratica', 30); t.string('codice_fiscale', 16); t.string('telefono', 20); t.string('stato', 30); t.dateTime('aggiornata_il');
    });
  });
  afterEach(async () => { await db.destroy(); });

  const config = () => {
    process.env.COLS_DB_URL = db.url;
    return { source: dialect === 'sqlite' ? { client: 'better-sqlite3', filename: db.url } : { client: dialect === 'postgres' ? 'pg' : 'mysql2', connectionEnv: 'COLS_DB_URL' } };
  };
  const rows = () => db.knex('rate_tari').insert([1, 2, 3].map((id) => ({ id, codice_fiscale: CF, scadenza: '2026-11-30 23:59:00', importo: '1,00', rata: '1/1', stato: 'DA_PAGARE' })));
  const RETURNS = 'The query returns: id, codice_fiscale, telefono, lingua, scadenza, importo, rata, stato.';

  it('a typo in a mapped column fails the run before any batch: no row error, no cancellation', async () => {
    await rows();
    const file = edited('scadenze-tari', (y) => y.replace('fiscalCode: codice_fiscale', 'fiscalCode: codice_fiscal'));
    const r = await poll(file, config(), ['scadenze-tari:1', 'scadenze-tari:2', 'scadenze-tari:3']);
    expect(r.batches).toEqual([]);
    expect(r.error!.message).toContain('scadenze-tari: ');
    expect(r.error!.message).toMatch(/connectors\/scadenze-tari\/connector\.yaml names column\(s\) that \S*connectors\/scadenze-tari\/query\.sql does not return — event\.recipient\.fiscalCode: "codice_fiscal"\. /);
    expect(r.error!.message).toContain(RETURNS);
  });

  it('an empty result still has its columns: the typo fails the run, the right names do not', async () => {
    const bad = edited('scadenze-tari', (y) => y.replace('fiscalCode: codice_fiscale', 'fiscalCode: codice_fiscal'));
    const failed = await poll(bad, config(), ['scadenze-tari:7']);
    expect(failed.batches).toEqual([]);
    expect(failed.error!.message).toContain('event.recipient.fiscalCode: "codice_fiscal"');
    // With the right names, an empty back-office is simply empty (the pending row is gone).
    const ok = await poll(edited('scadenze-tari'), config(), ['scadenze-tari:7']);
    expect(ok.error).toBeUndefined();
    expect(ok.batches.flatMap((b) => b.cancellations ?? [])).toEqual([{ entity: 'scadenze-tari:7', reason: 'the row is no longer in the back-office' }]);
  });

  it.each([
    ['key', (y: string) => y.replace('key: id ', 'key: idd '), 'key: "idd"'],
    ['window.column', (y: string) => y.replace('column: scadenza ', 'column: scadenzza '), 'window.column: "scadenzza"'],
    ['event.recipient.phone', (y: string) => y.replace('phone: telefono', 'phone: telefonoo'), 'event.recipient.phone: "telefonoo"'],
    ['event.recipient.language', (y: string) => y.replace('language: lingua', 'language: lingue'), 'event.recipient.language: "lingue"'],
    ['event.data', (y: string) => y.replace('amount: importo', 'amount: importi'), 'event.data.amount: "importi"'],
    ['event.dates', (y: string) => y.replace('dates: { due: scadenza }', 'dates: { due: scadenze }'), 'event.dates.due: "scadenze"'],
    ['event.cancelWhen.column', (y: string) => y.replace('cancelWhen: { column: stato', 'cancelWhen: { column: status'), 'event.cancelWhen.column: "status"'],
    ['event.key', (y: string) => y.replace('key: "{{ id }}:{{ due }}"', 'key: "{{ id }}:{{ numero_rata }}"'), 'event.key: "numero_rata"'],
  ])('%s', async (_field, edit, named) => {
    await rows();
    const r = await poll(edited('scadenze-tari', edit), config(), ['scadenze-tari:1']);
    expect(r.batches).toEqual([]);
    expect(r.error!.message).toContain(` does not return — ${named}. ${RETURNS}`);
  });

  it('cursor.column of an incremental connector', async () => {
    const r = await poll(edited('pratiche-edilizie', (y) => y.replace('column: aggiornata_il ', 'column: aggiornata_al ')), config());
    expect(r.batches).toEqual([]);
    expect(r.error!.message).toMatch(/^pratiche-edilizie: .* does not return — cursor\.column: "aggiornata_al"\. The query returns: id, numero_pratica, codice_fiscale, telefono, stato, aggiornata_il\./);
  });

  it('a query the database refuses names the connector and the file, not the generated SQL, and masks values', async () => {
    // A fiscal-code-shaped name, so that the database's message quotes it (PostgreSQL lower-cases it).
    const file = edited('scadenze-tari', undefined, (s) => s.replace('r.stato', `r.stato, r.${CF}`));
    const r = await poll(file, config(), ['scadenze-tari:1']);
    expect(r.batches).toEqual([]);
    expect(r.error!.message).toMatch(/^scadenze-tari: the back-office database refused the query of \S*connectors\/scadenze-tari\/query\.sql: /);
    expect(r.error!.message).not.toMatch(/select q\.|from \(|rate_tari|ponte_probe/i); // no generated SQL
    expect(r.error!.message.toUpperCase()).not.toContain(CF);
    expect(r.error!.message).toMatch(/RSS\*+U/i);
    // The connector's check (harness "config valid", ponte connector check) says the same.
    const conn = declarativeConnector(file);
    await expect(conn.check!(conn.configSchema.parse(config()), pino({ level: 'silent' }))).rejects.toThrow(/^scadenze-tari: the back-office database refused the query of /);
  });
});
