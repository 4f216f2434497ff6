// An incremental connector over daily CSV files: the cursor is the file and line last read.
import { describe, expect, it } from 'vitest';
import { appendFileSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { declarativeConnector } from '../../../src/connectors/declarative/load.js';
import type { FilePosition } from '../../../src/connectors/sources/csv/poll.js';
import { CF, collect, csvConnector, HEADER, writeExport } from './helpers.js';

const NOW = new Date('2026-11-24T10:00:00Z');
const SOURCE = '{ kind: csv, path: ../export/avvisi-*.csv }';
const line = (id: number, stato = 'DA_INVIARE') => `${id};${CF};;Alunno ${id};-1,00;23/11/2026 20:00;${stato}\n`;

/** Positions without their fingerprint (bytes, sha256), which rewritten.test.ts checks. */
const at = (cursors: unknown[]) => cursors.map((c) => ({ file: (c as FilePosition).file, line: (c as FilePosition).line }));

function appendSettled(path: string, text: string) {
  appendFileSync(path, Buffer.from(text, 'latin1'));
  const past = new Date(Date.now() - 3_600_000);
  utimesSync(path, past, past);
}

describe('CSV source, incremental shape (position cursor)', () => {
  it('reads files in name order, resumes after the last line read, and reads appended lines and new files', async () => {
    const { dir, file } = csvConnector({ shape: 'incremental', source: SOURCE });
    const day1 = join(dir, 'export/avvisi-20261123.csv');
    const day2 = join(dir, 'export/avvisi-20261124.csv');
    writeExport(day2, HEADER + line(4));
    writeExport(day1, HEADER + line(1) + line(2) + line(3));
    const conn = declarativeConnector(file);
    const a = await collect(conn, { now: NOW });
    expect(a.events.map((e) => e.entity)).toEqual(['mensa-test:1', 'mensa-test:2', 'mensa-test:3', 'mensa-test:4']);
    // Pages of 2: a cursor per page, so a crash resumes after the last committed page.
    expect(at(a.cursors)).toEqual([{ file: 'avvisi-20261123.csv', line: 3 }, { file: 'avvisi-20261123.csv', line: 4 }, { file: 'avvisi-20261124.csv', line: 2 }]);
    const cursor = a.cursors.at(-1);
    expect((await collect(conn, { now: NOW, cursor })).events).toEqual([]);

    appendSettled(day2, line(5) + line(4, 'ANNULLATO'));
    writeExport(join(dir, 'export/avvisi-20261125.csv'), HEADER + line(6));
    const b = await collect(conn, { now: NOW, cursor });
    expect(b.events.map((e) => e.entity)).toEqual(['mensa-test:5', 'mensa-test:6']);
    expect(b.cancellations).toEqual([{ entity: 'mensa-test:4', reason: 'stato is ANNULLATO in the back-office' }]);
    expect(at(b.cursors).at(-1)).toEqual({ file: 'avvisi-20261125.csv', line: 2 });
  });

  it('startFrom now: the first run only records where the files end', async () => {
    const { dir, file } = csvConnector({ shape: 'incremental', source: SOURCE, extra: '' });
    writeFileSync(file, readFileSync(file, 'utf8').replace('startFrom: beginning', 'startFrom: now'));
    writeExport(join(dir, 'export/avvisi-20261123.csv'), HEADER + line(1));
    writeExport(join(dir, 'export/avvisi-20261124.csv'), HEADER + line(2) + line(3));
    const r = await collect(declarativeConnector(file), { now: NOW });
    expect(r.events).toEqual([]);
    expect(r.cursors).toEqual([{ file: 'avvisi-20261124.csv', line: 3, bytes: Buffer.byteLength(HEADER + line(2) + line(3)), sha256: expect.stringMatching(/^[0-9a-f]{64}$/) }]);
  });

  it('a file now shorter than the lines a cursor without fingerprint read is read again from its first line', async () => {
    // The cursor the previous release wrote ({ file, line }): five lines read, the file now has two.
    const { dir, file } = csvConnector({ shape: 'incremental', source: SOURCE });
    const path = join(dir, 'export/avvisi-20261123.csv');
    writeExport(path, HEADER + line(1));
    const conn = declarativeConnector(file);
    const r = await collect(conn, { now: NOW, cursor: { file: 'avvisi-20261123.csv', line: 5 } });
    expect(r.events.map((e) => e.entity)).toEqual(['mensa-test:1']);
    expect(r.cursors).toEqual([{ file: 'avvisi-20261123.csv', line: 2, bytes: Buffer.byteLength(HEADER + line(1)), sha256: expect.any(String) }]);
  });

  it('a glob matching no file yet is no news; a bad line is a row error naming file and line, the rest goes out', async () => {
    const { dir, file } = csvConnector({ shape: 'incremental', source: SOURCE });
    const conn = declarativeConnector(file);
    expect((await collect(conn, { now: NOW })).events).toEqual([]);
    const path = join(dir, 'export/avvisi-20261123.csv');
    writeExport(path, HEADER + line(1) + `2;RSSMRA80A01H501U;;X;-1,00;31/02/2026 10:00;DA_INVIARE\n` + line(3));
    const r = await collect(conn, { now: NOW });
    expect(r.events.map((e) => e.entity)).toEqual(['mensa-test:1', 'mensa-test:3']);
    expect(r.errors).toEqual([{ rowKey: `2 (${path} line 3)`, field: 'data_saldo', message: '"31/02/2026 10:00" is not a date-time' }]);
    rmSync(path);
  });
});
