// Declarative connectors (connector.yaml + query.sql) on SQLite, PostgreSQL and MariaDB: the
// window, the dedup keys, cancellation, bad rows, and file/field-named errors.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { availableDialects, scratchDb, type ScratchDb } from '../helpers/databases.js';
import { tempDir } from '../helpers/temp-dir.js';
import { createRateTari } from './poll-helpers.js';
import { declarativeConnector, readDeclarative, windowQuery } from '../../src/connectors/declarative/load.js';
import { ConfigError } from '../../src/config/errors.js';
import type { Batch } from '../../src/connectors/contract.js';
import knexFactory from 'knex';
import { parseConfig } from '../../src/config/load.js';
import { resolveInstances } from '../../src/connectors/registry.js';

const { run } = await availableDialects();
const FILE = 'connectors/scadenze-tari/connector.yaml';
const NOW = new Date('2026-11-24T10:00:00Z'); // 11:00 in Rome
const CF = 'RSSMRA80A01H501U';

async function collect(conn: ReturnType<typeof declarativeConnector>, config: unknown, pending: string[] = []) {
  const out: Required<Pick<Batch, 'events' | 'cancellations' | 'errors'>> = { events: [], cancellations: [], errors: [] };
  for await (const b of conn.poll({ instanceId: 't', config, cursor: undefined, now: NOW, log: pino({ level: 'silent' }), pendingEntities: pending, signal: new AbortController().signal } as never)) {
    out.events.push(...b.events); out.cancellations.push(...(b.cancellations ?? [])); out.errors.push(...(b.errors ?? []));
  }
  return out;
}

describe.each(run)('declarative window connector on %s', (dialect) => {
  let db: ScratchDb;
  beforeEach(async () => {
    db = await scratchDb(dialect);
    await createRateTari(db.knex);
    await db.knex('rate_tari').insert([
      { id: 1, codice_fiscale: CF, telefono: '347 123 4567', lingua: 'it', scadenza: '2026-11-30 23:59:00', importo: '120,50', rata: '2/4', stato: 'DA_PAGARE' },
      { id: 2, codice_fiscale: CF, telefono: null, lingua: 'en', scadenza: '2026-12-01 12:00:00', importo: '80,00', rata: '3/4', stato: 'DA_PAGARE' },
      { id: 3, codice_fiscale: CF, telefono: null, lingua: null, scadenza: '2026-11-29 10:00:00', importo: '10,00', rata: '1/1', stato: 'PAGATA' },
      { id: 4, codice_fiscale: CF, telefono: null, lingua: null, scadenza: '2027-02-01 10:00:00', importo: '10,00', rata: '4/4', stato: 'DA_PAGARE' }, // outside the window
      { id: 5, codice_fiscale: null, telefono: null, lingua: null, scadenza: '2026-11-28 10:00:00', importo: '10,00', rata: '1/1', stato: 'DA_PAGARE' },
      { id: 6, codice_fiscale: CF, telefono: null, lingua: null, scadenza: null, importo: '10,00', rata: '1/1', stato: 'DA_PAGARE' },
    ]);
  });
  afterEach(async () => { await db.destroy(); });

  const source = () => (dialect === 'sqlite' ? { client: 'better-sqlite3', filename: db.url } : { client: dialect === 'postgres' ? 'pg' : 'mysql2', connectionEnv: 'TARI_DB_URL' });

  it('reads the window, maps rows to events with stable keys, cancels and reports per row', async () => {
    process.env.TARI_DB_URL = dialect === 'postgres' ? `${db.url}` : db.url;
    const conn = declarativeConnector(FILE);
    const config = conn.configSchema.parse({ source: source() });
    const r = await collect(conn, config, ['scadenze-tari:3', 'scadenze-tari:99']);
    expect(r.events.map((e) => e.key)).toEqual(['scadenze-tari:1:2026-11-30T22:59:00.000Z', 'scadenze-tari:2:2026-12-01T11:00:00.000Z']);
    const e1 = r.events[0]!;
    expect(e1).toMatchObject({
      type: 'tari.scadenza', entity: 'scadenze-tari:1', rowKey: '1',
      recipient: { fiscalCode: CF, phone: '347 123 4567', language: 'it' },
      data: { amount: '120,50', instalment: '2/4', due: '2026-11-30T22:59:00.000Z' },
      notBefore: new Date('2026-11-23T22:59:00.000Z'), expiresAt: new Date('2026-11-30T22:59:00.000Z'),
    });
    expect(r.cancellations).toEqual([
      { entity: 'scadenze-tari:3', reason: 'stato is PAGATA in the back-office' },
      { entity: 'scadenze-tari:99', reason: 'the row is no longer in the back-office' },
    ]);
    expect(r.errors).toEqual([{ rowKey: '5', field: 'codice_fiscale', message: 'missing fiscal code' }, { rowKey: '6', field: 'scadenza', message: 'missing due date' }]);
    // Stable: the same rows, the same keys.
    expect((await collect(conn, config)).events.map((e) => e.key)).toEqual(r.events.map((e) => e.key));
    // The central checks (a wrong check character …) name the table's columns too, as above.
    expect(conn.columnsOf!(config)).toEqual({ fiscalCode: 'codice_fiscale', phone: 'telefono', language: 'lingua', notBefore: 'scadenza', expiresAt: 'scadenza' });
  });
});

describe('declarative connector files', () => {
  function withFiles(yaml: string, sql = 'SELECT id FROM t'): string {
    const dir = tempDir('decl');
    mkdirSync(join(dir, 'c'));
    writeFileSync(join(dir, 'c', 'connector.yaml'), yaml);
    writeFileSync(join(dir, 'c', 'query.sql'), sql);
    return join(dir, 'c', 'connector.yaml');
  }
  const base = readFileSync(FILE, 'utf8');
  const problems = (file: string) => {
    try { readDeclarative(file); } catch (e) { expect(e).toBeInstanceOf(ConfigError); return (e as ConfigError).problems; }
    throw new Error('expected a ConfigError');
  };

  it('names the file and the field', () => {
    expect(problems(withFiles(base.replace('aheadHours: 192', 'aheadHours: soon')))[0]).toMatch(/^window\.aheadHours: /);
    expect(problems(withFiles(base.replace('notBefore: { date: due', 'notBefore: { date: scadenza'))))
      .toEqual(['event.notBefore.date: "scadenza" is not one of event.dates (due)']);
    expect(problems(withFiles(base.replace('shape: window', 'shape: window\ncolour: blue')))).toEqual(['(root): unknown field(s) "colour"']);
    expect(problems(withFiles(base, 'SELECT * FROM t ORDER BY id'))).toEqual(['query: query.sql must not ORDER BY (Ponte orders and pages the rows itself)']);
    const err = (() => { try { readDeclarative(withFiles(base.replace('templates:', 'templatez:'))); } catch (e) { return e as ConfigError; } return null; })();
    expect(err!.message).toMatch(/connector\.yaml: invalid configuration/);
  });

  // A variable no event carries failed every row with the same "template variable … is missing";
  // it is a mistake in connector.yaml, found when the connector loads.
  it('checks the templates against the data and dates names when it loads', () => {
    expect(problems(withFiles(base.replace('{{ amount | euro }}', '{{ amount | euro }} per {{ school }}'))))
      .toEqual(['templates.it.markdown: "school" is not in the event\'s data (it carries: amount, instalment, due)']);
    // A default does not excuse a name no event can have: the default would always be printed.
    expect(problems(withFiles(base.replace('TARI: an instalment', "TARI {{ rata | default('') }}: an instalment"))))
      .toEqual(['templates.en.subject: "rata" is not in the event\'s data (it carries: amount, instalment, due)']);
    expect(problems(withFiles(base.replace('{{ due | date }}**.\n\n      * **Importo', '{{ due | data }}**.\n\n      * **Importo'))))
      .toEqual(['templates.it.markdown: unknown template filter "data" (known: datetime, date, time, euro, name, label, upper, lower, default)']);
    expect(problems(withFiles(base.replace('key: "{{ id }}:{{ due }}"', 'key: "{{ id }}:{{ due "'))))
      .toEqual(['event.key: unclosed "{{" at character 10 of the template']);
  });

  // Values are backslash-escaped for IO's markdown, and inside `code` the backslashes would show.
  it('refuses a value inside `code` in a markdown template, not in a subject', () => {
    expect(problems(withFiles(base.replace('{{ amount | euro }}', '`{{ amount | euro }}`'))))
      .toEqual(['templates.it.markdown: a {{ … }} inside `code`: values cannot be shown there as written (use **bold** around it)']);
    expect(() => readDeclarative(withFiles(base.replace('TARI: an instalment', 'TARI: `an` instalment')))).not.toThrow();
  });

  it('checks WhatsApp template parameters of an instance against the data when the configuration loads', async () => {
    const dir = join(withFiles(base, readFileSync('connectors/scadenze-tari/query.sql', 'utf8')), '..');
    const yaml = (body: string) => `channels:\n  appio:\n    services: { anagrafe: { keyEnv: IO_KEY_ANAGRAFE } }\n  whatsapp:\n    phoneNumberId: "1"\n`
      + `connectors:\n  - id: tari\n    use: ${dir}\n    schedule: "* * * * *"\n    deliver: [ { channel: appio }, { channel: whatsapp, template: promemoria_tari, body: ${body} } ]\n    config: { source: { client: better-sqlite3, filename: x.sqlite } }\n`;
    const load = async (body: string) => {
      try { await resolveInstances(parseConfig(yaml(body), 'ponte.yaml'), 'ponte.yaml'); } catch (e) { return (e as ConfigError).problems; }
      return [];
    };
    expect(await load('["{{ amount }}", "{{ due | date }}"]')).toEqual([]);
    expect(await load('["{{ amount }}", "{{ school }}"]'))
      .toEqual(['connectors[0] (tari).deliver[1].body[1] (event type "tari.scadenza"): "school" is not in the event\'s data (it carries: amount, instalment, due)']);
  });

  // Meta refuses a send whose parameters differ in number from the approved template (132000),
  // or in a language it was not approved in (132001): every delivery of the type would fail.
  it('checks a route against the template as approved under channels.whatsapp.templates', async () => {
    const dir = join(withFiles(base, readFileSync('connectors/scadenze-tari/query.sql', 'utf8')), '..');
    const yaml = (step: string) => `channels:\n  appio:\n    services: { anagrafe: { keyEnv: IO_KEY_ANAGRAFE } }\n  whatsapp:\n    phoneNumberId: "1"\n`
      + `    templates:\n      promemoria_tari: { category: utility, languages: [it], params: 2 }\n`
      + `connectors:\n  - id: tari\n    use: ${dir}\n    schedule: "* * * * *"\n    deliver: [ { channel: appio }, { channel: whatsapp, template: promemoria_tari, ${step} } ]\n    config: { source: { client: better-sqlite3, filename: x.sqlite } }\n`;
    const load = async (step: string) => {
      try { await resolveInstances(parseConfig(yaml(step), 'ponte.yaml'), 'ponte.yaml'); } catch (e) { return (e as ConfigError).problems; }
      return [];
    };
    expect(await load('body: ["{{ amount | euro }}", "{{ due | date }}"]')).toEqual([]);
    expect(await load('body: ["{{ due | date }}"]'))
      .toEqual(['connectors[0] (tari).deliver[1].body: template "promemoria_tari" has 2 body parameter(s), this step gives 1; Meta would refuse every send with 132000']);
    expect(await load('language: en, body: ["{{ amount | euro }}", "{{ due | date }}"]'))
      .toEqual(['connectors[0] (tari).deliver[1].language: template "promemoria_tari" has no approved "en" translation (approved: it); Meta would refuse every send with 132001']);
  });

  it('compiles to T-SQL for SQL Server', () => {
    const { spec, sql } = readDeclarative(FILE);
    const q = windowQuery(knexFactory({ client: 'mssql' }), spec, sql, NOW).toSQL().toNative();
    expect(q.sql).toBe('select q.*, CONVERT(varchar(33), [q].[scadenza], 126) as [__date_due] from (SELECT r.id, r.codice_fiscale, r.telefono, r.lingua, r.scadenza, r.importo, r.rata, r.stato\nFROM rate_tari r) q where (([q].[scadenza] >= CONVERT(datetime2, @p0, 120) and [q].[scadenza] <= CONVERT(datetime2, @p1, 120)) or [q].[scadenza] is null)');
    expect(q.bindings).toEqual(['2026-11-24 11:00:00', '2026-12-02 11:00:00']);
  });
});
