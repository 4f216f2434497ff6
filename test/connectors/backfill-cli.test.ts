// Ctrl-C during `ponte poll` of a big table: the real CLI process stops after a committed batch
// (exit 130), and the next `ponte poll` resumes from the committed cursor; every row's event is
// stored exactly once.
import { describe, expect, it } from 'vitest';
import { appendFileSync, cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import knexFactory from 'knex';
import { ponte, ponteProcess, scratchWorkdir } from '../helpers/cli.js';
import { citizen } from '../helpers/pipeline.js';
import { PONTE_ROOT as ROOT } from '../../src/util/ponte-root.js';

const ROWS = 4000;

describe('ponte poll of a big table', () => {
  it('stops after a committed batch on SIGINT and resumes on the next poll', async () => {
    const cwd = scratchWorkdir();
    const dir = join(cwd, 'connectors/pratiche-edilizie');
    cpSync(join(ROOT, 'connectors/pratiche-edilizie'), dir, { recursive: true });
    // Small pages (many commits) and the whole table on the first run: a backfill.
    const yaml = readFileSync(join(dir, 'connector.yaml'), 'utf8')
      .replace('lagSeconds: 5 ', 'lagSeconds: 0\n  startFrom: beginning ')
      .replace('key: id\n', 'key: id\npageSize: 20\n');
    expect(yaml).toMatch(/startFrom: beginning/);
    writeFileSync(join(dir, 'connector.yaml'), yaml);

    mkdirSync(join(cwd, 'data'), { recursive: true });
    const bo = knexFactory({ client: 'better-sqlite3', connection: { filename: join(cwd, 'data/pratiche.sqlite') }, useNullAsDefault: true });
    await bo.schema.createTable('pratiche_edilizie', (t) => {
      t.integer('id').primary(); t.string('numero_pratica', 30); t.string('codice_fiscale', 16); t.string('telefono', 20); t.string('stato', 30); t.text('aggiornata_il');
    });
    const rows = Array.from({ length: ROWS }, (_, i) => ({ id: i + 1, numero_pratica: `PE-${i + 1}`, codice_fiscale: citizen(i + 1), telefono: null, stato: 'APPROVATA', aggiornata_il: `2026-02-01 09:00:${String(i % 60).padStart(2, '0')}.000000` }));
    for (let i = 0; i < rows.length; i += 200) await bo('pratiche_edilizie').insert(rows.slice(i, i + 200));
    await bo.destroy();
    appendFileSync(join(cwd, 'config/ponte.yaml'), `
  - id: pratiche
    use: pratiche-edilizie
    schedule: "0 3 * * *"
    deliver:
      - channel: appio
        service: anagrafe
    config:
      source: { client: better-sqlite3, filename: data/pratiche.sqlite }
`);

    const first = ponteProcess(['poll', 'pratiche'], { cwd });
    // Interrupt as soon as the run is under way: it still commits the batch in hand (200 in all).
    const deadline = Date.now() + 90_000;
    while (!first.out.stdout.includes('poll started') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    first.child.kill('SIGINT');
    const code = await first.exited;
    expect(first.out.stderr).toMatch(/stopping after the current batch is committed/);
    expect(code).toBe(130);
    const stopped = first.out.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { msg: string; rowsRead?: number; eventsNew?: number; interrupted?: boolean }).find((l) => l.interrupted);
    expect(stopped).toBeDefined();
    expect(stopped!.rowsRead).toBeGreaterThan(0);
    expect(stopped!.rowsRead).toBeLessThan(ROWS);
    expect(stopped!.rowsRead! % 20).toBe(0); // whole batches only

    const second = await ponte(['poll', 'pratiche', '--json'], { cwd, timeoutMs: 120_000 });
    expect(second.code).toBe(0);
    const report = JSON.parse(second.stdout.slice(second.stdout.indexOf('{\n'))) as { rowsRead: number; eventsNew: number; eventsDuplicate: number };
    expect(report).toMatchObject({ rowsRead: ROWS - stopped!.rowsRead!, eventsNew: ROWS - stopped!.rowsRead!, eventsDuplicate: 0 });

    const store = knexFactory({ client: 'better-sqlite3', connection: { filename: join(cwd, 'data/ponte.sqlite') }, useNullAsDefault: true });
    try {
      const keys = (await store('events').where('instance_id', 'pratiche').pluck('dedup_key')) as string[];
      expect(keys.length).toBe(ROWS);
      expect(new Set(keys).size).toBe(ROWS);
    } finally {
      await store.destroy();
    }
  }, 180_000);
});
