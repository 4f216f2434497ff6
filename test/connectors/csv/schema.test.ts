// connector.yaml with a file source: mistakes are refused when it loads, naming the field.
import { describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readDeclarative } from '../../../src/connectors/declarative/load.js';
import { ConfigError } from '../../../src/config/errors.js';
import { isoWallText } from '../../../src/connectors/sources/csv/dates.js';
import { csvConnector } from './helpers.js';

function problems(edit: (yaml: string) => string): string[] {
  const { file } = csvConnector({ shape: 'incremental', source: '{ kind: csv, path: ../export/avvisi-*.csv }' });
  writeFileSync(file, edit(readFileSync(file, 'utf8')));
  try { readDeclarative(file); } catch (e) { expect(e).toBeInstanceOf(ConfigError); return (e as ConfigError).problems; }
  return [];
}

describe('connector.yaml with a CSV source', () => {
  it('loads without query.sql, the cursor mode resolved to position', () => {
    const { file } = csvConnector({ shape: 'incremental', source: '{ kind: csv, path: x.csv }' });
    const { spec, sql } = readDeclarative(file);
    expect(sql).toBe('');
    expect(spec.cursor!.mode).toBe('position');
    expect(spec.source).toMatchObject({ kind: 'csv', path: 'x.csv', delimiter: ';', encoding: 'utf8', header: true, settleSeconds: 60 });
  });

  it('refuses a cursor column, a query, an unknown kind, an encoding, a glob in a folder', () => {
    expect(problems((y) => y.replace('cursor: { mode: position,', 'cursor: { column: data_saldo,'))).toEqual([
      expect.stringMatching(/^cursor\.column: a csv source's cursor is the file and line last read, not a column/),
    ]);
    expect(problems((y) => y.replace('pageSize: 2', 'pageSize: 2\nquery: q.sql'))).toEqual(['query: a csv source has no query: remove query']);
    expect(problems((y) => y.replace('kind: csv', 'kind: xlsx'))).toEqual([expect.stringMatching(/^source\.kind: csv or http; or leave kind out/)]);
    expect(problems((y) => y.replace('path: ../export/avvisi-*.csv', 'path: x.csv, encoding: utf16'))).toEqual([expect.stringMatching(/^source\.encoding: /)]);
    expect(problems((y) => y.replace('path: ../export/avvisi-*.csv', 'path: "exp*/a.csv"'))).toEqual(['source.path: a glob (* or ?) may only be in the file name, not in a folder']);
    expect(problems((y) => y.replace('path: ../export/avvisi-*.csv', 'path: a.csv, header: false'))).toEqual(['source.columns: header: false needs columns: [the column names, in file order]']);
  });

  it('a database cursor still needs its column, and position is for files only', () => {
    const { dir } = csvConnector({ shape: 'window' });
    const file = join(dir, 'c', 'connector.yaml');
    writeFileSync(join(dir, 'c', 'query.sql'), 'SELECT 1 AS n_avviso');
    const text = readFileSync(file, 'utf8');
    writeFileSync(file, text.replace(/^source: .*$/m, '').replace(/^window: .*$/m, '').replace('shape: window', 'shape: incremental\ncursor: { mode: position }'));
    expect(() => readDeclarative(file)).toThrow(/cursor\.mode: mode position is for file sources[\s\S]*cursor\.column: a database cursor needs column/);
  });
});

describe('Italian dates in files', () => {
  it.each([
    ['30/11/2026', '2026-11-30'],
    ['1/2/2026 8:05', '2026-02-01 08:05:00'],
    ['30-11-2026 23.59.10', '2026-11-30 23:59:10'],
    ['30.11.2026 23:59:10,5', '2026-11-30 23:59:10.5'],
    ['2026-11-30 23:59:00', '2026-11-30 23:59:00'],
    ['domani', 'domani'],
  ])('%s → %s', (text, iso) => expect(isoWallText(text)).toBe(iso));
});
