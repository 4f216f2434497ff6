// Issue 6, item 7: bad rows and bad settings, each producing ONE clear error that names the
// connector, the row (its key) and the field — with everything else still going out.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, mkdirSync, cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import knexFactory from 'knex';
import { pino } from 'pino';
import { makePipeline, reminder, citizen, type Pipeline } from '../helpers/pipeline.js';
import { tempDir } from '../helpers/temp-dir.js';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/errors.js';
import { resolveInstances } from '../../src/connectors/registry.js';
import { runConnector } from '../../src/connectors/runner.js';
import { AppioChannel } from '../../src/channels/appio/index.js';
import { testStore } from '../helpers/store.js';
import { declarativeConnector } from '../../src/connectors/declarative/load.js';
import { instantToWallTime } from '../../src/util/local-time.js';

const phoneless = (n: number, phone: string) => reminder(n, { recipient: { fiscalCode: citizen(n), phone } });

describe('bad rows: one error each, naming connector, row and field; the rest goes out', () => {
  let p: Pipeline;
  beforeAll(async () => {
    p = await makePipeline('sqlite', { deliver: { mode: 'first', listForm: false, channels: [{ channel: 'appio', service: 'anagrafe' }] } });
    p.backoffice.events = [
      reminder(1),                                                                    // good
      reminder(2, { recipient: { fiscalCode: 'RSSMRA80A01H50' } }),                   // malformed fiscal code
      reminder(3, { recipient: { fiscalCode: 'RSSMRA80A01H501X' } }),                 // wrong check character
      reminder(4, { notBefore: new Date('not a date') }),                             // unparsable date
      reminder(5, { expiresAt: new Date(Date.now() - 60_000) }),                      // date already past
      reminder(6, { data: { what: 'x'.repeat(10_050), name: 'Anna' } }),              // text too long for IO after rendering
      reminder(7, { data: { name: 'Bruno' } }),                                       // template variable missing
      reminder(8), reminder(8, { data: { what: 'again', name: 'Mario8' } }),          // duplicate key inside one batch
      reminder(9, { type: 'test.nope' }),                                             // unknown event type
      reminder(10),                                                                   // good
      reminder(12, { key: `test:12:${citizen(12).toLowerCase()}` }),                  // the fiscal code in the dedup key
      reminder(13, { key: 'test:13:347-123-4567', recipient: { fiscalCode: citizen(13), phone: '+39 347 1234567' } }), // the phone in the dedup key
    ];
    p.backoffice.errors = [{ rowKey: '11', field: 'data_ora', message: 'missing appointment date/time' }]; // null date (from the connector)
    await p.poll();
    await p.settle();
  });
  afterAll(async () => { await p.close(); });

  it.each([
    ['2', 'fiscalCode', /fiscal code .*16 characters/],
    ['3', 'fiscalCode', /wrong check character: expected/],
    ['4', 'notBefore', /notBefore is not a valid date/],
    ['5', 'expiresAt', /already past/],
    ['6', 'message', /markdown is 10\d{3} characters long; IO requires 80 to 10000/],
    ['7', 'message', /template variable "what" is missing/],
    ['8', 'key', /duplicate dedup key "test:8" in one batch; the first occurrence was kept/],
    ['9', 'type', /unknown event type "test.nope" \(connector declares: test.reminder\)/],
    ['11', 'data_ora', /missing appointment date\/time/],
    ['12', 'key', /dedup key holds the citizen's fiscal code; the ledger keeps keys for good/],
    ['13', 'key', /dedup key holds the citizen's phone number; .*key on the row's id instead/],
  ])('row %s [%s]', async (row, field, message) => {
    const errs = await p.store.knex('row_errors').where({ row_key: row }).select('instance_id', 'field', 'message');
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatchObject({ instance_id: 'scripted-1', field });
    expect(errs[0].message).toMatch(message);
  });

  it('everything else went out, once', () => {
    expect(p.sandbox.messages.map((m) => m.fiscalCode).sort()).toEqual([citizen(1), citizen(10), citizen(8)].sort());
  });
});

describe('an unusable phone number', () => {
  it('is a clear per-row error when WhatsApp is the channel, never a crash', async () => {
    const { makeWaPipeline, whatsappOnly } = await import('../helpers/pipeline-whatsapp.js');
    const p = await makeWaPipeline('sqlite', { deliver: whatsappOnly });
    try {
      p.backoffice.events = [phoneless(1, '12'), phoneless(2, 'chiamare in ufficio')];
      await p.poll();
      await p.settle();
      const errs = await p.store.knex('row_errors').orderBy('row_key').select('instance_id', 'row_key', 'field', 'message');
      expect(errs).toEqual([1, 2].map((n) => ({ instance_id: 'scripted-1', row_key: String(n), field: 'message', message: 'whatsapp: phone number cannot be normalised to E.164' })));
      expect(await p.store.knex('deliveries').count({ n: '*' })).toEqual([{ n: 0 }]);
    } finally {
      await p.close();
    }
  });
});

describe('bad settings', () => {
  const base = readFileSync('config/ponte.yaml', 'utf8');
  const problems = (text: string) => { try { parseConfig(text, 'config/ponte.yaml'); } catch (e) { return (e as ConfigError).problems; } return []; };

  it('an unknown field, or one of the wrong type, names the file and the field', () => {
    expect(problems(base.replace('batchSize: 50', 'batchSize: fifty'))[0]).toMatch(/^dispatcher\.batchSize: .*number/i);
    expect(problems(base.replace('concurrency: 16', 'concurrency: 16\n  concurency: 3'))).toEqual(['dispatcher: unknown field(s) "concurency"']);
  });

  it('an invalid cron expression names the connector entry', () => {
    expect(problems(base.replace('schedule: "0 8 * * *"', 'schedule: "0 25 * * *"'))).toEqual(['connectors[1] (demo-ztl).schedule: not a valid cron expression: "0 25 * * *" (node-cron syntax, optional seconds field)']);
  });

  it('a missing secret names the variable, never a value', () => {
    const cfg = parseConfig(base, 'config/ponte.yaml');
    let message = '';
    try {
      new AppioChannel({ baseUrl: 'http://127.0.0.1:9/api/v1', services: cfg.channels.appio!.services, render: () => { throw new Error('x'); }, env: { IO_KEY_ANAGRAFE: 'super-secret-key-value' } });
    } catch (e) { message = (e as Error).message; }
    expect(message).toBe('appio: the subscription key of IO service "polizia-locale" is missing: set environment variable IO_KEY_POLIZIA_LOCALE');
    expect(message).not.toContain('super-secret');
  });
});

describe('a back-office that is unreachable or has a renamed column', () => {
  it('fails that connector\'s run (recorded, retried next time); the other connector is unaffected', async () => {
    const dir = tempDir('bad');
    mkdirSync(join(dir, 'connectors'));
    cpSync('connectors/scadenze-tari', join(dir, 'connectors/scadenze-tari'), { recursive: true });
    const bo = knexFactory({ client: 'better-sqlite3', connection: { filename: join(dir, 'bo.sqlite') }, useNullAsDefault: true });
    // The column `scadenza` was renamed to `data_scadenza` by a back-office upgrade.
    await bo.schema.createTable('rate_tari', (t) => { t.integer('id'); t.string('codice_fiscale'); t.string('telefono'); t.string('lingua'); t.dateTime('data_scadenza'); t.string('importo'); t.string('rata'); t.string('stato'); });
    await bo.destroy();
    const yaml = `channels:\n  appio:\n    services: { anagrafe: { keyEnv: IO_KEY_ANAGRAFE } }\nconnectors:\n  - id: tari-renamed\n    use: scadenze-tari\n    schedule: "* * * * *"\n    deliver: [ { channel: appio } ]\n    config: { source: { client: better-sqlite3, filename: ${join(dir, 'bo.sqlite')} } }\n  - id: tari-unreachable\n    use: scadenze-tari\n    schedule: "* * * * *"\n    deliver: [ { channel: appio } ]\n    config: { source: { client: pg, connectionEnv: TARI_DOWN_URL } }\n`;
    writeFileSync(join(dir, 'ponte.yaml'), yaml);
    const cwd = process.cwd();
    process.chdir(dir);
    const store = await testStore('sqlite');
    try {
      process.env.TARI_DOWN_URL = 'postgres://nobody@127.0.0.1:1/none';
      const instances = await resolveInstances(parseConfig(yaml, 'ponte.yaml'), 'ponte.yaml');
      const channels = new Map();
      const deps = { store, channels, log: pino({ level: 'silent' }), owner: 'p' };
      const renamed = await runConnector(instances[0]!, deps);
      const down = await runConnector(instances[1]!, deps);
      expect(renamed.status).toBe('failed');
      expect(renamed.error).toMatch(/scadenza/);
      expect(down.status).toBe('failed');
      expect(down.error).toMatch(/ECONNREFUSED|connect/);
      const state = await store.knex('connector_state').orderBy('instance_id').select('instance_id', 'last_run_status');
      expect(state).toEqual([{ instance_id: 'tari-renamed', last_run_status: 'failed' }, { instance_id: 'tari-unreachable', last_run_status: 'failed' }]);
      // Retried at its next schedule: the lease was released, a new run starts (and fails again, recorded again).
      expect((await runConnector(instances[0]!, deps)).status).toBe('failed');
      expect(await store.knex('connector_runs').where({ instance_id: 'tari-renamed' }).count({ n: '*' })).toEqual([{ n: 2 }]);
    } finally {
      process.chdir(cwd);
      await store.close();
    }
  });
});

describe('a column connector.yaml maps that query.sql does not return (a typo, or a column renamed)', () => {
  // The tester's case: one letter missing in `fiscalCode: codice_fiscale`. Read as undefined, the
  // column looked like a NULL on every row: the run went "ok" with a row error per row and
  // cancelled every pending reminder, and the ledger kept their keys, so the fix sent nothing.
  it('fails the run (recorded), cancels nothing, and the run after the fix sends everything', async () => {
    const dir = tempDir('bad-col');
    const folder = join(dir, 'connectors/scadenze-tari');
    cpSync('connectors/scadenze-tari', folder, { recursive: true });
    const yamlFile = join(folder, 'connector.yaml');
    const good = readFileSync(yamlFile, 'utf8');
    const bo = knexFactory({ client: 'better-sqlite3', connection: { filename: join(dir, 'bo.sqlite') }, useNullAsDefault: true });
    await bo.schema.createTable('rate_tari', (t) => { t.integer('id'); t.string('codice_fiscale'); t.string('telefono'); t.string('lingua'); t.string('scadenza'); t.string('importo'); t.string('rata'); t.string('stato'); });
    // Due in three days: inside the window, the reminder (7 days before) already sendable.
    const due = instantToWallTime(new Date(Date.now() + 3 * 86_400_000), 'Europe/Rome');
    await bo('rate_tari').insert([1, 2, 3].map((n) => ({ id: n, codice_fiscale: citizen(n), scadenza: due, importo: '10,00', rata: `${n}/3`, stato: 'DA_PAGARE' })));
    await bo.destroy();
    const config = { source: { client: 'better-sqlite3', filename: join(dir, 'bo.sqlite') } };
    const p = await makePipeline('sqlite', { connector: { definition: declarativeConnector(yamlFile), config } });
    const pending = async () => Object.values(await p.states()).filter((s) => s === 'pending').length;
    try {
      expect((await p.poll()).eventsNew).toBe(3);
      expect(await pending()).toBe(3);

      writeFileSync(yamlFile, good.replace('fiscalCode: codice_fiscale', 'fiscalCode: codice_fiscal'));
      p.instance.definition = declarativeConnector(yamlFile);
      const failed = await p.poll();
      expect(failed).toMatchObject({ status: 'failed', rowsRead: 0, cancelled: 0, rowErrors: 0 });
      expect(failed.error).toMatch(/^scadenze-tari: .*connector\.yaml names column\(s\) that .*query\.sql does not return — event\.recipient\.fiscalCode: "codice_fiscal"\. The query returns: id, codice_fiscale, telefono, lingua, scadenza, importo, rata, stato\./);
      const run = await p.store.knex('connector_runs').orderBy('id', 'desc').first();
      expect(run).toMatchObject({ instance_id: 'scripted-1', status: 'failed' });
      expect(run.error).toMatch(/"codice_fiscal"/);
      expect(await p.store.knex('row_errors').count({ n: '*' })).toEqual([{ n: 0 }]);
      expect(await pending()).toBe(3); // nothing cancelled

      writeFileSync(yamlFile, good);
      p.instance.definition = declarativeConnector(yamlFile);
      expect(await p.poll()).toMatchObject({ status: 'ok', eventsNew: 0, eventsDuplicate: 3, cancelled: 0, rowErrors: 0 });
      await p.settle();
      expect(p.sandbox.messages.map((m) => m.fiscalCode).sort()).toEqual([citizen(1), citizen(2), citizen(3)]);
    } finally {
      await p.close();
    }
  });
});
