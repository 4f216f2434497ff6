// The path of docs/connectors.md on a fresh clone: scaffold a declarative connector, point it at a
// back-office table, check it with the harness, dry-run it, then run Ponte until its first message
// is PROCESSED by the IO sandbox.
import { describe, expect, it } from 'vitest';
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import knexFactory from 'knex';
import { ponte, ponteProcess, scratchWorkdir } from '../helpers/cli.js';
import { instantToWallTime } from '../../src/util/local-time.js';

describe('a CED staffer\'s first connector', () => {
  it('goes from `ponte connector new` to a PROCESSED message', async () => {
    const cwd = scratchWorkdir();
    const created = await ponte(['connector', 'new', 'pratiche-suap', '--sql', '--shape', 'incremental'], { cwd });
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/connectors\/pratiche-suap\/connector\.yaml/);

    mkdirSync(join(cwd, 'data'), { recursive: true });
    const bo = knexFactory({ client: 'better-sqlite3', connection: { filename: join(cwd, 'data/suap.sqlite') }, useNullAsDefault: true });
    await bo.schema.createTable('pratiche_suap', (t) => {
      t.integer('id').primary(); t.string('codice_fiscale', 16); t.string('telefono', 20); t.string('stato', 20); t.dateTime('aggiornata_il');
    });
    await bo('pratiche_suap').insert({ id: 7, codice_fiscale: 'RSSMRA80A01H501U', telefono: null, stato: 'APPROVATA', aggiornata_il: `${instantToWallTime(new Date(Date.now() - 60_000), 'Europe/Rome')}.000000` });
    await bo.destroy();

    const checked = await ponte(['connector', 'test', 'pratiche-suap'], { cwd, timeoutMs: 90_000 });
    expect(checked.stdout).toMatch(/all checks passed/);
    expect(checked.code).toBe(0);

    appendFileSync(join(cwd, 'config/ponte.yaml'), `
  - id: suap
    use: pratiche-suap
    schedule: "*/5 * * * *"
    deliver:
      - channel: appio
        service: anagrafe
    config:
      source: { client: better-sqlite3, filename: data/suap.sqlite }
`);
    const dry = await ponte(['poll', 'suap', '--dry-run'], { cwd });
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/pratiche-suap:7:APPROVATA/);
    expect(dry.stdout).toMatch(/appio \(first choice\): POST http:\/\/127\.0\.0\.1:\d+\/api\/v1\/messages/);

    const daemon = ponteProcess(['run'], { cwd, env: { PONTE_LOG_LEVEL: 'info' } });
    const deadline = Date.now() + 40_000;
    let status: { deliveries?: { appio?: Record<string, number> } } = {};
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 1000));
      const s = await ponte(['status', '--json'], { cwd });
      if (s.code === 0) status = JSON.parse(s.stdout);
      const events = await ponte(['deliveries', '--json', '--state', 'processed'], { cwd });
      if (events.code === 0 && (JSON.parse(events.stdout) as { dedup_key: string }[]).some((d) => d.dedup_key === 'pratiche-suap:7:APPROVATA')) break;
    }
    daemon.child.kill('SIGTERM');
    expect(await daemon.exited).toBe(0);
    const processed = await ponte(['deliveries', '--json', '--state', 'processed'], { cwd });
    expect((JSON.parse(processed.stdout) as { dedup_key: string }[]).map((d) => d.dedup_key)).toContain('pratiche-suap:7:APPROVATA');
    expect(status.deliveries?.appio).toBeDefined();
  }, 120_000);
});
