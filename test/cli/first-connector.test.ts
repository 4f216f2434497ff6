// The path of docs/connectors.md on a fresh clone: scaffold a declarative connector, point it at a
// back-office table, check it with the harness, dry-run it, then run Ponte until its first message
// is PROCESSED by the IO sandbox.
import { describe, expect, it } from 'vitest';
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import knexFactory from 'knex';
import { ponte, ponteProcess, scratchWorkdir } from '../helpers/cli.js';
import { instantToWallTime } from '../../src/util/local-time.js';

function startDaemon(cwd: string) {
  return ponteProcess(['run'], { cwd });
}

async function waitFor(cond: () => Promise<boolean>, ms = 40_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error('timed out');
}

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
    schedule: "*/2 * * * * *"
    deliver:
      - channel: appio
        service: anagrafe
    config:
      source: { client: better-sqlite3, filename: data/suap.sqlite }
`);
    // Going live does not notify the table's history (startFrom: now): the dry run sends nothing.
    const dry = await ponte(['poll', 'suap', '--dry-run'], { cwd });
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/Dry run of suap: 0 event\(s\)/);

    const daemon = startDaemon(cwd);
    const processedKeys = async () => {
      const r = await ponte(['deliveries', '--json'], { cwd });
      return r.code === 0 ? (JSON.parse(r.stdout) as { dedup_key: string; state: string }[]) : [];
    };
    // Wait for the first run (it records where "now" is), then the practice changes.
    await waitFor(async () => {
      const s = await ponte(['status', '--json'], { cwd });
      return s.code === 0 && (JSON.parse(s.stdout) as { connectors: { id: string; lastRunStatus: string }[] }).connectors.some((c) => c.id === 'suap' && c.lastRunStatus === 'ok');
    });
    const bo2 = knexFactory({ client: 'better-sqlite3', connection: { filename: join(cwd, 'data/suap.sqlite') }, useNullAsDefault: true });
    await bo2('pratiche_suap').where({ id: 7 }).update({ stato: 'RILASCIATA', aggiornata_il: `${instantToWallTime(new Date(), 'Europe/Rome')}.000000` });
    await bo2.destroy();
    await waitFor(async () => (await processedKeys()).some((d) => d.dedup_key === 'pratiche-suap:7:RILASCIATA' && d.state === 'processed'));
    daemon.child.kill('SIGTERM');
    expect(await daemon.exited).toBe(0);
    const keys = (await processedKeys()).map((d) => d.dedup_key);
    expect(keys).toContain('pratiche-suap:7:RILASCIATA');
    expect(keys).not.toContain('pratiche-suap:7:APPROVATA'); // the state before going live was not sent
  }, 120_000);
});
