// The acceptance harness itself: it passes the reference and scaffolded connectors on every
// database, and fails — naming the check — the classic polling bugs.
import { describe, expect, it } from 'vitest';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { availableDialects } from '../helpers/databases.js';
import { tempDir } from '../helpers/temp-dir.js';
import { harnessTarget } from '../../src/connectors/harness/target.js';
import { runHarness, CHECK_NAMES, type CheckResult } from '../../src/connectors/harness/harness.js';
import { scaffoldConnector } from '../../src/connectors/harness/scaffold.js';
import type { Dialect } from '../../src/connectors/harness/scratch.js';

const { run } = await availableDialects();
const log = pino({ level: 'silent' });
const failures = (rs: CheckResult[]) => rs.filter((r) => r.status === 'FAIL').map((r) => `${r.check}: ${r.detail}`);
const status = (rs: CheckResult[]) => Object.fromEntries(rs.map((r) => [r.check, r.status]));

describe('acceptance harness', () => {
  it.each(run)('passes the worked incremental example on %s, every check applying', async (dialect) => {
    const rs = await runHarness(await harnessTarget('pratiche-edilizie'), { dialect: dialect as Dialect, log });
    expect(failures(rs)).toEqual([]);
    expect(rs.map((r) => r.check)).toEqual(CHECK_NAMES);
    expect(rs.every((r) => r.status === 'PASS')).toBe(true);
  });

  it.each(['scadenze-tari', 'appointments', 'ztl-permits'])('passes the reference connector %s', async (name) => {
    const rs = await runHarness(await harnessTarget(name), { dialect: 'sqlite', log });
    expect(failures(rs)).toEqual([]);
  });

  it('passes the reference CSV connector mensa-scolastica, every check applying', async () => {
    const target = await harnessTarget('mensa-scolastica');
    expect(target.csv).toMatchObject({ kind: 'csv', delimiter: ';', encoding: 'windows-1252' });
    const rs = await runHarness(target, { dialect: 'sqlite', log });
    expect(failures(rs)).toEqual([]);
    expect(rs.every((r) => r.status === 'PASS')).toBe(true);
  });

  it('passes the reference HTTP connector prenotazioni-sportello (bearer token, nested cittadino.cf, next links)', async () => {
    const target = await harnessTarget('prenotazioni-sportello');
    expect(target.http).toMatchObject({ kind: 'http', authEnv: 'PRENOTAZIONI_API_TOKEN', itemsPath: 'data.items', paging: { next: 'links.next' } });
    const rs = await runHarness(target, { dialect: 'sqlite', log });
    expect(failures(rs)).toEqual([]);
    // A window connector keeps no cursor: only the two cursor checks do not apply.
    expect(rs.filter((r) => r.status === 'N/A').map((r) => r.check)).toEqual(['a row committed late within the lag', 'microsecond precision of the cursor']);
  });

  it.each([['window'], ['incremental']] as const)('passes what `ponte connector new --csv --shape %s` creates', async (shape) => {
    const cwd = tempDir('scaffold');
    const files = scaffoldConnector('avvisi-suap', { kind: 'csv', shape, cwd });
    expect(files).toEqual(['connectors/avvisi-suap/connector.yaml', 'connectors/avvisi-suap/fixture.yaml', 'connectors/avvisi-suap/avvisi-suap.test.ts']);
    expect(failures(await runHarness(await harnessTarget('avvisi-suap', cwd), { dialect: 'sqlite', log }))).toEqual([]);
  });

  it.each([['window'], ['incremental']] as const)('passes what `ponte connector new --http --shape %s` creates', async (shape) => {
    const cwd = tempDir('scaffold');
    const files = scaffoldConnector('avvisi-api', { kind: 'http', shape, cwd });
    expect(files).toEqual(['connectors/avvisi-api/connector.yaml', 'connectors/avvisi-api/fixture.yaml', 'connectors/avvisi-api/avvisi-api.test.ts']);
    const target = await harnessTarget('avvisi-api', cwd);
    expect(target.http).toMatchObject({ kind: 'http', authEnv: 'AVVISI_API_TOKEN', itemsPath: 'data.items', paging: { next: 'links.next' } });
    const rs = await runHarness(target, { dialect: 'sqlite', log });
    expect(failures(rs)).toEqual([]);
    if (shape === 'incremental') expect(rs.every((r) => r.status === 'PASS')).toBe(true);
  });

  it.each(['pratiche-api', 'scadenze-api'])('passes the HTTP connector %s served from 127.0.0.1', async (name) => {
    const rs = await runHarness(await harnessTarget(`test/fixtures/http-connectors/${name}`), { dialect: 'sqlite', log });
    expect(failures(rs)).toEqual([]);
    if (name === 'pratiche-api') expect(rs.every((r) => r.status === 'PASS')).toBe(true);
  });

  it.each(['iso', 'local', 'date', 'epoch'])('passes the incremental HTTP connector with since (format %s) against a server that answers only the rows since it', async (format) => {
    const dir = tempDir('http-since');
    for (const f of ['connector.yaml', 'fixture.yaml']) writeFileSync(join(dir, f), readFileSync(join('test/fixtures/http-connectors/pratiche-api', f), 'utf8'));
    const yaml = join(dir, 'connector.yaml');
    writeFileSync(yaml, readFileSync(yaml, 'utf8').replace('  timeoutSeconds: 10\n', `  timeoutSeconds: 10\n  since: { param: modificatiDal, format: ${format} }\n`));
    const target = await harnessTarget(dir);
    expect(target.http?.since).toEqual({ param: 'modificatiDal', format });
    const rs = await runHarness(target, { dialect: 'sqlite', log });
    expect(failures(rs)).toEqual([]);
    expect(rs.every((r) => r.status === 'PASS')).toBe(true);
  });

  it('refuses a CSV or HTTP connector whose fixture.yaml lacks a mapped column, naming fixture.yaml and the column', async () => {
    // connector.yaml edited to the real export's header, fixture.yaml still the scaffold's: six
    // checks used to fail with "the header line of /tmp/…/x.csv does not have", pointing at connector.yaml.
    const cwd = tempDir('scaffold');
    scaffoldConnector('avvisi-suap', { kind: 'csv', shape: 'window', cwd });
    const fixture = join(cwd, 'connectors/avvisi-suap/fixture.yaml');
    writeFileSync(fixture, readFileSync(fixture, 'utf8').replace('  stato: string(20)\n', ''));
    await expect(harnessTarget('avvisi-suap', cwd)).rejects.toThrow(/fixture\.yaml: invalid configuration\n {2}- columns: no "stato", which connector\.yaml maps in event\.data\.status: the harness writes a scratch file with fixture\.yaml's columns/);
    const http = tempDir('http-fixture');
    for (const f of ['connector.yaml', 'fixture.yaml']) writeFileSync(join(http, f), readFileSync(join('test/fixtures/http-connectors/scadenze-api', f), 'utf8').replace('  importo: string(20)\n', '').replace('  importo: "120,50"\n', ''));
    await expect(harnessTarget(http)).rejects.toThrow(/columns: no "importo", which connector\.yaml maps in event\.data\.\w+: the harness serves rows with fixture\.yaml's columns/);
  });

  it.runIf(run.includes('postgres'))('passes the declarative window connector on postgres', async () => {
    expect(failures(await runHarness(await harnessTarget('scadenze-tari'), { dialect: 'postgres', log }))).toEqual([]);
  });

  it('fails a ">" cursor without the id, naming the ties check', async () => {
    const rs = await runHarness(await harnessTarget('test/fixtures/broken-connectors/gt-cursor'), { dialect: 'sqlite', log });
    expect(status(rs)['many rows sharing one cursor value across a batch boundary']).toBe('FAIL');
  });

  it.each(run.filter((d) => d !== 'sqlite'))('fails a cursor through a JS Date on %s, naming the precision check', async (dialect) => {
    const rs = await runHarness(await harnessTarget('test/fixtures/broken-connectors/js-date-cursor'), { dialect: dialect as Dialect, log });
    expect(status(rs)['microsecond precision of the cursor']).toBe('FAIL');
  });

  it('fails an upper bound from the application clock, naming the late-commit check', async () => {
    const rs = await runHarness(await harnessTarget('test/fixtures/broken-connectors/app-clock-bound'), { dialect: 'sqlite', log });
    expect(status(rs)['a row committed late within the lag']).toBe('FAIL');
    expect(status(rs)['many rows sharing one cursor value across a batch boundary']).toBe('PASS');
  });

  it('rows refused as bad are named as such, not mistaken for a paging bug', async () => {
    const cwd = tempDir('scaffold');
    scaffoldConnector('pratiche-suap', { kind: 'sql', shape: 'window', cwd });
    const fixture = join(cwd, 'connectors/pratiche-suap/fixture.yaml');
    writeFileSync(fixture, readFileSync(fixture, 'utf8').replace(/RSSMRA80A01H501U/g, 'RSSMRA80A01H501X')); // wrong check character
    const rs = await runHarness(await harnessTarget('pratiche-suap', cwd), { dialect: 'sqlite', log });
    const ties = rs.find((r) => r.check === 'many rows sharing one cursor value across a batch boundary')!;
    expect(ties.status).toBe('FAIL');
    expect(ties.detail).toMatch(/^7 of 7 rows were refused as bad rows \(e\.g\. .*wrong check character.*\): fix that first$/);
  });

  it.each([['window'], ['incremental']] as const)('passes what `ponte connector new --sql --shape %s` creates', async (shape) => {
    const cwd = tempDir('scaffold');
    const files = scaffoldConnector('pratiche-suap', { kind: 'sql', shape, cwd });
    expect(files).toEqual(['connectors/pratiche-suap/connector.yaml', 'connectors/pratiche-suap/query.sql', 'connectors/pratiche-suap/fixture.yaml', 'connectors/pratiche-suap/pratiche-suap.test.ts']);
    expect(failures(await runHarness(await harnessTarget('pratiche-suap', cwd), { dialect: 'sqlite', log }))).toEqual([]);
  });

  it('passes what `ponte connector new --ts` creates', async () => {
    const name = `zz-scaffold-${process.pid}`;
    try {
      scaffoldConnector(name, { kind: 'ts', shape: 'window' });
      expect(failures(await runHarness(await harnessTarget(name), { dialect: 'sqlite', log }))).toEqual([]);
    } finally {
      rmSync(join('connectors', name), { recursive: true, force: true });
    }
  });
});
