// Configuration mistakes are reported with the file, the field and what is wrong.
import { describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { declarativeFile, PONTE_CONNECTORS } from '../../src/connectors/declarative/load.js';
import { tempDir } from '../helpers/temp-dir.js';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/errors.js';
import { undeclaredTemplatesWarning } from '../../src/config/whatsapp-templates.js';
import { resolveInstances } from '../../src/connectors/registry.js';
import { storeConfigFrom } from '../../src/app/context.js';
import { AppioChannel } from '../../src/channels/appio/index.js';

const FILE = 'config/test.yaml';
const base = readFileSync('config/ponte.yaml', 'utf8');

function problems(text: string): string[] {
  try {
    parseConfig(text, FILE);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as ConfigError).message.startsWith(`${FILE}: invalid configuration`)).toBe(true);
    return (e as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('config/ponte.yaml', () => {
  it('the shipped default and production example are valid', async () => {
    const cfg = parseConfig(base, 'config/ponte.yaml');
    expect(cfg.connectors.map((c) => c.id)).toEqual(['demo-appuntamenti', 'demo-ztl']);
    expect(cfg.dispatcher.onUncertain).toBe('hold');
    const instances = await resolveInstances(cfg, 'config/ponte.yaml');
    expect(instances.map((i) => i.definition.name)).toEqual(['appointments', 'ztl-permits']);
    const prod = parseConfig(readFileSync('config/production.example.yaml', 'utf8'), 'config/production.example.yaml');
    expect(prod.store.client).toBe('pg');
    await resolveInstances(prod, 'config/production.example.yaml');
  });

  it('names unknown fields, wrong types, bad cron expressions and unknown services', () => {
    expect(problems(base.replace('batchSize: 50', 'batchSize: 50\n  batchSzie: 10'))).toEqual(['dispatcher: unknown field(s) "batchSzie"']);
    expect(problems(base.replace('concurrency: 16', 'concurrency: "many"'))[0]).toMatch(/^dispatcher\.concurrency: .*number/i);
    expect(problems(base.replace('schedule: "*/5 * * * *"', 'schedule: "every five minutes"'))).toEqual([
      'connectors[0] (demo-appuntamenti).schedule: not a valid cron expression: "every five minutes" (node-cron syntax, optional seconds field)',
    ]);
    expect(problems(base.replace('service: anagrafe', 'service: anagrafee'))).toEqual([
      'connectors[0] (demo-appuntamenti).deliver.channels[0].service: unknown IO service "anagrafee" (known: anagrafe, polizia-locale)',
    ]);
    // The list shorthand of `deliver:` is named as written.
    expect(problems(base.replace('service: polizia-locale\n      - channel: whatsapp', 'service: polizia\n      - channel: whatsapp'))).toEqual([
      'connectors[1] (demo-ztl).deliver[0].service: unknown IO service "polizia" (known: anagrafe, polizia-locale)',
    ]);
    expect(problems(base.replace('# quietHours: { from: "21:00", to: "08:00" }', 'quietHours: { from: "9pm", to: "08:00" } #'))[0]).toMatch(/^connectors\[0\] \(demo-appuntamenti\)\.deliver\.quietHours\.from: a local time HH:MM/);
    expect(problems(base.replace('keyEnv: IO_KEY_ANAGRAFE', 'keyEnv: io-key'))[0]).toMatch(/^channels\.appio\.services\.anagrafe\.keyEnv: must be an environment variable name/);
    expect(problems('connectors: [ { id: a, use: x, schedule: "* * * * *", deliver: [] } ]')[0]).toMatch(/^connectors\[0\] \(a\)\.deliver: /);
    expect(problems('store: [1, 2')[0]).toMatch(/^not valid YAML/);
  });

  it("refuses a connector's WhatsApp step that the approved templates would refuse at the first send: name, language, parameter count", () => {
    // The reminder's template misspelt, asked in English, given one body parameter instead of two.
    const bad = base
      .replace('template: promemoria_appuntamento', 'template: promemoria_appuntamenti')
      .replace('template: scadenza_permesso_ztl\n        body: ["{{ plate }}", "{{ expiresOn | date }}"]', 'template: scadenza_permesso_ztl\n        language: en\n        body: ["{{ plate }}"]');
    expect(problems(bad)).toEqual([
      'connectors[0] (demo-appuntamenti).deliver.channels[1].template: "promemoria_appuntamenti" is not an approved template under channels.whatsapp.templates (declared: promemoria_appuntamento, scadenza_permesso_ztl, allerta_meteo, avviso_viabilita, notizie_comune, evento_comune); Meta would refuse every send with 132001',
      'connectors[1] (demo-ztl).deliver[1].language: template "scadenza_permesso_ztl" has no approved "en" translation (approved: it); Meta would refuse every send with 132001',
      'connectors[1] (demo-ztl).deliver[1].body: template "scadenza_permesso_ztl" has 2 body parameter(s), this step gives 1; Meta would refuse every send with 132000',
    ]);
    // Without a declaration nothing can be checked here (Meta will, at the send).
    const undeclared = parseConfig(bad.replace(/ {4}templates:\n(?: {6}\w+: .*\n)+/, ''), FILE);
    expect(undeclared.channels.whatsapp?.templates).toEqual({});
    // … and `ponte run` says so at start.
    expect(undeclaredTemplatesWarning(undeclared)).toBe('channels.whatsapp.templates is not declared: the templates promemoria_appuntamenti, scadenza_permesso_ztl are checked (name, language, number of parameters) only by Meta, at each send (132001, 132000)');
    expect(undeclaredTemplatesWarning(parseConfig(base, FILE))).toBeNull();
  });

  it('refuses the broadcast templates where they used to be declared, saying where the one list now lives', () => {
    expect(problems(base.replace('citizenService:\n', 'citizenService:\n  templates:\n    allerta_meteo: { category: utility, language: it, params: 1 }\n'))).toEqual([
      'citizenService.templates: moved: declare the approved templates once, under channels.whatsapp.templates, each with its category and languages (allerta_meteo: { category: utility, languages: [it], params: 1 })',
    ]);
  });

  it('refuses plain http for the providers (their key or token travels with every request), except to this machine', () => {
    expect(problems(base.replace('baseUrl: https://api.io.pagopa.it/api/v1', 'baseUrl: http://api.io.pagopa.it/api/v1'))).toEqual([
      'channels.appio.baseUrl: must be https:// (plain http only to this machine): the IO key travels with every request',
    ]);
    expect(problems(base.replace('phoneNumberId: "106540352242922"', 'phoneNumberId: "106540352242922"\n    graphUrl: http://graph.facebook.com'))).toEqual([
      'channels.whatsapp.graphUrl: must be https:// (plain http only to this machine): the WhatsApp token travels with every request',
    ]);
    for (const local of ['http://127.0.0.1:8081/api/v1', 'http://localhost:8081/api/v1', 'http://[::1]:8081/api/v1']) {
      expect(parseConfig(base.replace('baseUrl: https://api.io.pagopa.it/api/v1', `baseUrl: ${local}`), FILE).channels.appio?.baseUrl).toBe(local);
    }
  });

  it("a connector's own settings are checked by its schema, naming the instance and field", async () => {
    const cfg = parseConfig(base.replace('leadHours: 24', 'leadHours: "ventiquattro"'), FILE);
    const err = await resolveInstances(cfg, FILE).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems[0]).toMatch(/^connectors\[0\] \(demo-appuntamenti\)\.config\.leadHours: /);
    const unknown = await resolveInstances(parseConfig(base.replace('use: ztl-permits', 'use: ztl-permitz'), FILE), FILE).catch((e: unknown) => e);
    expect((unknown as ConfigError).problems[0]).toMatch(/^connectors\[1\] \(demo-ztl\)\.use: /);
  });

  it('a `use:` naming no connector says where it looked and which connectors exist', async () => {
    const err = await resolveInstances(parseConfig(base.replace('use: ztl-permits', 'use: ztl-permitz'), FILE), FILE).catch((e: unknown) => e);
    const [problem] = (err as ConfigError).problems;
    // Not node's "Cannot find module '/…/dist/connectors/ztl-permitz/index.js'".
    expect(problem).not.toMatch(/Cannot find module/);
    expect(problem).toContain('connectors[1] (demo-ztl).use: no connector named "ztl-permitz"');
    expect(problem).toContain(`connectors/ztl-permitz/connector.yaml in ${process.cwd()}`);
    expect(problem).toContain('connectors/ztl-permitz/index.ts in');
    // The tests run from the repository root: its declarative examples are found too.
    expect(problem).toMatch(/Connectors found: appointments, mensa-scolastica, pratiche-edilizie, prenotazioni-sportello, scadenze-tari, ztl-permits$/);
  });

  it('a declarative connector shipped with Ponte is found from another folder; one of the installation wins', () => {
    const elsewhere = tempDir('use-elsewhere');
    expect(declarativeFile('scadenze-tari', elsewhere)).toBe(join(PONTE_CONNECTORS, 'scadenze-tari', 'connector.yaml'));
    mkdirSync(join(elsewhere, 'connectors/scadenze-tari'), { recursive: true });
    writeFileSync(join(elsewhere, 'connectors/scadenze-tari/connector.yaml'), 'name: scadenze-tari\n');
    expect(declarativeFile('scadenze-tari', elsewhere)).toBe(join(elsewhere, 'connectors/scadenze-tari/connector.yaml'));
    expect(declarativeFile('nessuno', elsewhere)).toBeNull();
  });

  it('secrets come only from the environment, and a missing one is named without any value', () => {
    const cfg = parseConfig(base, FILE);
    expect(() => new AppioChannel({ baseUrl: 'http://127.0.0.1:9/api/v1', services: cfg.channels.appio!.services, render: () => { throw new Error('unused'); }, env: { IO_KEY_ANAGRAFE: 'k1' } }))
      .toThrow(/set environment variable IO_KEY_POLIZIA_LOCALE/);
    expect(storeConfigFrom(cfg, { DATABASE_URL: 'postgres://u:secret@h/db' })).toMatchObject({ client: 'pg', url: 'postgres://u:secret@h/db', where: 'PostgreSQL h/db (from $DATABASE_URL)' });
    expect(storeConfigFrom(cfg, {})).toEqual({ client: 'sqlite', filename: 'data/ponte.sqlite', where: 'SQLite file data/ponte.sqlite (store.filename; $DATABASE_URL not set)' });
    expect(() => storeConfigFrom(cfg, { DATABASE_URL: 'oracle://x' })).toThrow(/DATABASE_URL: unsupported URL scheme/);
  });
});
