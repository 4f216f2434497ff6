// A window connector over a CSV export: Windows-1252 and UTF-8 with BOM, Italian dates and
// decimal commas, the window filter, cancellations of rows that left the file, and errors that
// name the file, the line and the field.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { declarativeConnector } from '../../../src/connectors/declarative/load.js';
import { CF, collect, csvConnector, HEADER, writeExport } from './helpers.js';

const NOW = new Date('2026-11-24T10:00:00Z');

describe('CSV source, window shape', () => {
  it('reads a Windows-1252 export: Italian dates and decimals, the window, cancellations, located row errors', async () => {
    const { dir, file } = csvConnector({ shape: 'window' });
    writeExport(join(dir, 'export/saldi.csv'), HEADER
      + `1;${CF};347 1234567;Niccolò Rossi;-12,50 €;24/11/2026 08:30;DA_INVIARE\r\n`
      + `2;${CF};;Anna Bianchi;-3,00;1/12/2026;DA_INVIARE\r\n` // outside the window (48 h ahead)
      + `3;${CF};;Luca Verdi;-5,00;23/11/2026 07:00;ANNULLATO\r\n`
      + `4;;;Senza Codice;-1,00;23/11/2026 07:00;DA_INVIARE\r\n`
      + `5;${CF};;"Punto; e virgola";-2,00;non so;DA_INVIARE\r\n`
      + `6;${CF};troppi;campi\r\n`);
    const conn = declarativeConnector(file);
    const r = await collect(conn, { now: NOW, pending: ['mensa-test:3', 'mensa-test:2', 'mensa-test:99'] });
    // Row 2 is beyond the window but still pending: re-read, as a SQL connector re-reads it by id.
    expect(r.events.map((e) => e.key)).toEqual(['mensa-test:1:2026-11-24T07:30:00.000Z', 'mensa-test:2:2026-11-30T23:00:00.000Z']);
    expect(r.events[0]).toMatchObject({
      entity: 'mensa-test:1', rowKey: '1 (' + join(dir, 'export/saldi.csv') + ' line 2)',
      recipient: { fiscalCode: CF, phone: '347 1234567' },
      data: { pupil: 'Niccolò Rossi', balance: '-12,50 €', on: '2026-11-24T07:30:00.000Z' },
    });
    expect(r.cancellations).toEqual([
      { entity: 'mensa-test:3', reason: 'stato is ANNULLATO in the back-office' },
      { entity: 'mensa-test:99', reason: 'the row is no longer in saldi.csv' },
    ]);
    const shown = join(dir, 'export/saldi.csv');
    expect(r.errors).toEqual([
      { rowKey: `4 (${shown} line 5)`, field: 'codice_fiscale', message: 'missing fiscal code' },
      { rowKey: `5 (${shown} line 6)`, field: 'data_saldo', message: '"non so" is not a date-time' },
      { rowKey: `? (${shown} line 7)`, field: '(line)', message: 'has 4 field(s), the header has 7' },
    ]);
    expect(r.batches).toBeGreaterThan(1); // pageSize 2: committed a page at a time
    // Re-reading the same file gives the same keys: the ledger sends nothing twice.
    expect((await collect(conn, { now: NOW, pending: ['mensa-test:2'] })).events.map((e) => e.key)).toEqual(r.events.map((e) => e.key));
  });

  it('reads UTF-8 with a BOM, and a comma-separated file with quoted decimal commas', async () => {
    const { dir, file } = csvConnector({ shape: 'window', source: '{ kind: csv, path: ../export/saldi.csv, delimiter: ",", encoding: utf8 }' });
    writeExport(join(dir, 'export/saldi.csv'), `\uFEFF${HEADER.replace(/;/g, ',')}1,${CF},,Niccolò,"-12,50",2026-11-24 08:30:00,DA_INVIARE\n`, { encoding: 'utf8' });
    const r = await collect(declarativeConnector(file), { now: NOW });
    expect(r.errors).toEqual([]);
    expect(r.events[0]!.data).toEqual({ pupil: 'Niccolò', balance: '-12,50', on: '2026-11-24T07:30:00.000Z' });
  });

  it('reads a UTF-8 file with a BOM as UTF-8 even when connector.yaml says windows-1252', async () => {
    // The export program was upgraded and now writes UTF-8 with a BOM: before, the header's first
    // name read as "ï»¿n_avviso" and the run failed on a column that was there.
    const { dir, file } = csvConnector({ shape: 'window' });
    writeExport(join(dir, 'export/saldi.csv'), `\uFEFF${HEADER}1;${CF};;Niccolò;-12,50;24/11/2026 08:30;DA_INVIARE\r\n`, { encoding: 'utf8' });
    const r = await collect(declarativeConnector(file), { now: NOW });
    expect(r.errors).toEqual([]);
    expect(r.events[0]!.data).toMatchObject({ pupil: 'Niccolò', balance: '-12,50' });
  });

  it('fails the run, naming the file, the line and the setting, when a Windows-1252 export is read as UTF-8', async () => {
    // encoding left at its default (utf8): "Niccolò" used to reach the parent as "Niccol\uFFFD".
    const { dir, file } = csvConnector({ shape: 'window', source: '{ kind: csv, path: ../export/saldi.csv }' });
    writeExport(join(dir, 'export/saldi.csv'), `${HEADER}1;${CF};;Anna;-1,00;24/11/2026 08:30;DA_INVIARE\r\n2;${CF};;Niccolò;-12,50;24/11/2026 08:30;DA_INVIARE\r\n`);
    await expect(collect(declarativeConnector(file), { now: NOW })).rejects.toThrow(/saldi\.csv: line 3 is not UTF-8 text .*set encoding: windows-1252 under source: in connector\.yaml/);
    // An accented column name in the header is caught on line 1, before any row.
    writeExport(join(dir, 'export/saldi.csv'), `${HEADER.replace('alunno', 'alunno;città')}1;${CF};;Anna;x;-1,00;24/11/2026 08:30;DA_INVIARE\r\n`);
    await expect(collect(declarativeConnector(file), { now: NOW })).rejects.toThrow(/saldi\.csv: line 1 is not UTF-8 text/);
  });

  it('uses the newest file a glob matches (name order)', async () => {
    const { dir, file } = csvConnector({ shape: 'window', source: '{ kind: csv, path: ../export/saldi-*.csv }' });
    writeExport(join(dir, 'export/saldi-20261123.csv'), `${HEADER}1;${CF};;Vecchio;-1,00;24/11/2026 08:30;DA_INVIARE\n`);
    writeExport(join(dir, 'export/saldi-20261124.csv'), `${HEADER}2;${CF};;Nuovo;-1,00;24/11/2026 08:30;DA_INVIARE\n`);
    expect((await collect(declarativeConnector(file), { now: NOW })).events.map((e) => e.entity)).toEqual(['mensa-test:2']);
  });

  it('fails the run, naming the file, when it is missing, still being written, cut short or lacks a column', async () => {
    const { dir, file } = csvConnector({ shape: 'window' });
    const path = join(dir, 'export/saldi.csv');
    const conn = declarativeConnector(file);
    await expect(collect(conn, { now: NOW })).rejects.toThrow(`${path}: the file does not exist`);
    writeExport(path, `${HEADER}1;${CF};;A;-1,00;24/11/2026 08:30;DA_INVIARE\n`, { settled: false });
    await expect(collect(conn, { now: NOW })).rejects.toThrow(/saldi\.csv: modified \d+ s ago, less than settleSeconds \(60\): it may still be being written/);
    writeExport(path, `${HEADER}1;${CF};;A;-1,00;24/11/2026 08:30;DA_INVIARE\n2;${CF};;B;-1,0`);
    await expect(collect(conn, { now: NOW })).rejects.toThrow(/saldi\.csv: the last line does not end with a line break/);
    writeExport(path, `n_avviso;codice_fiscale;telefono;alunno;saldo;data_saldo;Stato\n1;${CF};;A;-1,00;24/11/2026 08:30;DA_INVIARE\n`);
    await expect(collect(conn, { now: NOW })).rejects.toThrow(/names column\(s\) that the header line of .*saldi\.csv does not have — event\.cancelWhen\.column: "stato" \(the header has "Stato": names are case-sensitive\)/);
    writeExport(path, `${HEADER}1;"${CF};;A;-1,00;24/11/2026 08:30;DA_INVIARE\n`);
    const err = await collect(conn, { now: NOW }).then(() => null, (e: Error) => e.message);
    expect(err).toMatch(/saldi\.csv: not a readable CSV file \(delimiter ";"\)/);
    expect(err).not.toContain(CF);
  });

  it('streams: the first page is out when only a small part of a big file has been read', async () => {
    const { dir, file } = csvConnector({ shape: 'window' });
    const path = join(dir, 'export/saldi.csv');
    const lines = [HEADER];
    for (let i = 1; i <= 200_000; i++) lines.push(`${i};${CF};;Alunno ${i};-1,00;24/11/2026 08:30;DA_INVIARE\n`);
    writeExport(path, lines.join(''));
    const { csvRows } = await import('../../../src/connectors/sources/csv/index.js');
    const { readDeclarative } = await import('../../../src/connectors/declarative/load.js');
    const { compileTemplate } = await import('../../../src/messages/template.js');
    const { spec } = readDeclarative(file);
    const progress = { bytes: 0 };
    const rows = csvRows({ spec, file, sql: '', where: { connector: 'mensa-test', yamlFile: file, sqlFile: path }, key: compileTemplate(spec.event.key) }, progress);
    const size = Buffer.byteLength(lines.join(''), 'latin1');
    const it = rows.poll(spec.source!, { instanceId: 't', config: {}, cursor: undefined, now: NOW, pendingEntities: [], signal: new AbortController().signal } as never)[Symbol.asyncIterator]();
    const first = await it.next();
    expect(first.value.events).toHaveLength(2);
    expect(progress.bytes).toBeLessThan(size / 20);
    await it.return!(undefined);
    writeFileSync(path, ''); // a 14 MB file: not left for the rest of the suite's temp space
  });
});
