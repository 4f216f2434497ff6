// What the CLI prints to an operator when things go wrong or are only being looked at: errors
// masked like the logs, dry runs that show whole requests, and messages that say where to look.
import { beforeAll, describe, expect, it } from 'vitest';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ponte, scratchWorkdir, seedWorkdirBackoffice } from '../helpers/cli.js';
import { DEMO_APPOINTMENTS } from '../../src/demo/backoffice.js';
import { instantToWallTime } from '../../src/util/local-time.js';

const PHONE = '+39 347 1234501';
const FISCAL_CODE = 'RSSMRA80A01H501U';

describe('ponte poll --dry-run', () => {
  let cwd: string;
  beforeAll(async () => {
    cwd = scratchWorkdir();
    await seedWorkdirBackoffice(cwd, async (bo) => {
      // The office is the WhatsApp template's second body parameter: one holding a phone number
      // shows whether the parameters are printed, and printed masked.
      await bo('appuntamenti').where({ id: DEMO_APPOINTMENTS.in3h }).update({ ufficio: `Anagrafe, tel. ${PHONE}` });
      // A malformed fiscal code on a row read before the demo's bad rows (105 null date, 106 bad
      // check character, 107 text too long): the runner finds it after the connector's own errors.
      await bo('appuntamenti').insert({ id: 100, codice_fiscale: 'RSSMRA80A01H50', telefono: null, lingua: 'it', data_ora: instantToWallTime(new Date(Date.now() + 5 * 3_600_000), 'Europe/Rome'), stato: 'CONFERMATO', ufficio: 'Anagrafe', servizio: 'Certificato', indirizzo: null });
    });
    // A connector whose poll fails with personal data in the message, as a back-office's SQL
    // error does (PostgreSQL quotes the value it could not convert).
    writeFileSync(join(cwd, 'failing-connector.mjs'), `
export default {
  name: 'failing', description: 'fails', shape: 'window', eventTypes: {},
  configSchema: { safeParse: (v) => ({ success: true, data: v }) },
  async *poll() {
    throw new Error('select * from t where telefono = 1 - invalid input syntax for type integer: "${PHONE}" (codice fiscale ${FISCAL_CODE})');
  },
};
`);
    // A connector that throws from a timer: outside any try, so Node's crash report would print it.
    writeFileSync(join(cwd, 'crashing-connector.mjs'), `
export default {
  name: 'crashing', description: 'crashes', shape: 'window', eventTypes: {},
  configSchema: { safeParse: (v) => ({ success: true, data: v }) },
  async *poll() {
    setTimeout(() => { const e = new Error('row of ${FISCAL_CODE}, tel 393471234501'); e.source = 'mysql://ponte:Cr4sh-s3cr3t@db/anagrafe'; throw e; }, 5);
    await new Promise((r) => setTimeout(r, 10_000));
  },
};
`);
    appendFileSync(join(cwd, 'config/ponte.yaml'), `
  - id: failing
    use: ./failing-connector.mjs
    schedule: "*/5 * * * *"
    deliver:
      - channel: appio
        service: anagrafe

  - id: mensa
    use: appointments
    schedule: "*/5 * * * *"
    deliver:
      - channel: appio
        service: anagrafe
    config:
      source: { client: pg, connectionEnv: PONTE_TEST_MENSA_DB_UR }

  - id: crashing
    use: ./crashing-connector.mjs
    schedule: "*/5 * * * *"
    deliver:
      - channel: appio
        service: anagrafe

  - id: tributi
    use: appointments
    schedule: "*/5 * * * *"
    deliver:
      - channel: appio
        service: anagrafe
    config:
      source: { client: mysql2, connectionEnv: PONTE_TEST_TRIBUTI_DB_URL }
`);
  });

  it('shows a WhatsApp template\'s parameters, masked', async () => {
    const dry = await ponte(['poll', 'demo-appuntamenti', '--dry-run', '--json'], { cwd });
    expect(dry.code).toBe(0);
    type Send = { channel: string; request?: { body: { template: { components: Array<{ type: string; parameters: unknown }> } } } };
    const report = JSON.parse(dry.stdout) as { events: Array<{ key: string; sends: Send[] }> };
    const event = report.events.find((e) => e.key.startsWith(`appointment:${DEMO_APPOINTMENTS.in3h}:`))!;
    const wa = event.sends.find((s) => s.channel === 'whatsapp')!;
    const body = wa.request!.body.template.components.find((c) => c.type === 'body')!;
    expect(body.parameters).toEqual([
      { type: 'text', text: expect.any(String) },
      { type: 'text', text: 'Anagrafe, tel. +39********01' },
    ]);
    expect(dry.stdout).not.toContain('1234501');

    const text = await ponte(['poll', 'demo-appuntamenti', '--dry-run'], { cwd });
    expect(text.code).toBe(0);
    expect(text.stdout).not.toContain('Too deep');
    expect(text.stdout).toContain('Anagrafe, tel. +39********01');
  });

  it('lists row errors by row key, naming the column for a bad fiscal code as for a missing date', async () => {
    const dry = await ponte(['poll', 'demo-appuntamenti', '--dry-run', '--json'], { cwd });
    expect(dry.code).toBe(0);
    const report = JSON.parse(dry.stdout) as { rowErrors: Array<{ rowKey: string; field: string; message: string }> };
    expect(report.rowErrors.map((e) => [e.rowKey, e.field])).toEqual([
      ['100', 'codice_fiscale'], ['105', 'data_ora'], ['106', 'codice_fiscale'], ['107', 'message'],
    ]);
    const text = await ponte(['poll', 'demo-appuntamenti', '--dry-run'], { cwd });
    expect(text.stdout.split('\n').filter((l) => l.startsWith('! row')).map((l) => l.split(':')[0])).toEqual([
      '! row 100 field codice_fiscale', '! row 105 field data_ora', '! row 106 field codice_fiscale', '! row 107 field message',
    ]);
  });

  it('prints a failing poll\'s error with phone numbers and fiscal codes masked', async () => {
    const dry = await ponte(['poll', 'failing', '--dry-run'], { cwd, env: { PONTE_DEBUG: '1' } });
    expect(dry.code).toBe(1);
    expect(dry.stderr).toMatch(/^ponte: connector failing \(config\/ponte\.yaml\): select \* from t where telefono = 1 - invalid input syntax for type integer: "\+39\*{8}01" \(codice fiscale RSS\*{12}U\)/);
    // Neither the message nor the PONTE_DEBUG dump (stack included) holds them in clear.
    expect(dry.stderr).not.toContain('1234501');
    expect(dry.stderr).not.toContain(FISCAL_CODE);
  });

  it('never prints the back-office password, not even from a driver\'s "Invalid URL" error (it carries the whole string)', async () => {
    // A port out of range: mysql2 hands the string to new URL(), whose error keeps it as `input`.
    const env = { PONTE_TEST_TRIBUTI_DB_URL: 'mysql://ponte:Tr1but1-s3cr3t@127.0.0.1:99999/tributi', PONTE_LOG_LEVEL: 'trace', PONTE_DEBUG: '1' };
    for (const args of [['poll', 'tributi'], ['poll', 'tributi', '--dry-run']]) {
      const r = await ponte(args, { cwd, env });
      expect(r.code).toBe(1);
      expect(r.stdout + r.stderr).toContain('Invalid URL');
      expect(r.stdout + r.stderr).not.toContain('Tr1but1-s3cr3t');
    }
  });

  it('reports a crash (an exception no command caught) masked, and exits 1', async () => {
    for (const env of [{}, { PONTE_DEBUG: '1' }]) {
      const r = await ponte(['poll', 'crashing', '--dry-run'], { cwd, env });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('ponte: crashed (uncaught exception): row of RSS************U, tel **********01');
      for (const clear of [FISCAL_CODE, '3471234501', 'Cr4sh-s3cr3t']) expect(r.stdout + r.stderr).not.toContain(clear);
    }
  });

  it('names the instance and its config file when the poll fails', async () => {
    const dry = await ponte(['poll', 'mensa', '--dry-run'], { cwd });
    expect(dry.code).toBe(1);
    expect(dry.stderr.trim()).toBe('ponte: connector mensa (config/ponte.yaml): back-office database: environment variable PONTE_TEST_MENSA_DB_UR is not set');
  });
});
