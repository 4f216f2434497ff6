// The first poll of a big table (a backfill): progress is reported batch by batch with the total
// and time left; an interrupt stops after a committed batch and a kill before a commit loses it;
// either way the next poll resumes from the committed cursor and every row's event is stored
// exactly once. Real back-office and store databases (SQLite, PostgreSQL).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import type { Knex } from 'knex';
import { availableDialects, scratchDb, type ScratchDb } from '../helpers/databases.js';
import { testStore, type TestStore } from '../helpers/store.js';
import { citizen } from '../helpers/pipeline.js';
import { createPraticheEdilizie, sourceFor } from './poll-helpers.js';
import { declarativeConnector } from '../../src/connectors/declarative/load.js';
import { ioRenderer } from '../../src/app/render.js';
import type { Channel } from '../../src/channels/channel.js';
import type { ConnectorInstance } from '../../src/connectors/registry.js';
import { runConnector, type RunnerDeps } from '../../src/connectors/runner.js';
import type { PollProgress } from '../../src/connectors/progress.js';
import { readCursor } from '../../src/store/lease.js';
import { SimulatedCrash, throwingCrashPoint } from '../../src/util/crash-point.js';

const { run } = await availableDialects(['sqlite', 'postgres']);
const CONNECTOR = fileURLToPath(new URL('../../connectors/pratiche-edilizie/connector.yaml', import.meta.url));
const ROWS = 230;
const PAGE = 20;

async function seed(knex: Knex, db: ScratchDb): Promise<void> {
  await createPraticheEdilizie(db);
  // Several rows share each change time, so page boundaries fall inside ties.
  const rows = Array.from({ length: ROWS }, (_, i) => ({
    id: i + 1, numero_pratica: `PE-2026-${i + 1}`, codice_fiscale: citizen(i + 1), telefono: null, stato: 'IN_ISTRUTTORIA',
    aggiornata_il: `2026-03-01 10:${String(Math.floor(i / 7) % 60).padStart(2, '0')}:${String(Math.floor(i / 420)).padStart(2, '0')}`,
  }));
  for (let i = 0; i < rows.length; i += 50) await knex('pratiche_edilizie').insert(rows.slice(i, i + 50));
}

describe.each(run)('backfill of a big table on %s', (dialect) => {
  let backoffice: ScratchDb;
  let store: TestStore;
  let instance: ConnectorInstance;
  const later = () => Date.now() + 10 * 60_000; // after a dead process's lease

  beforeEach(async () => {
    backoffice = await scratchDb(dialect);
    await seed(backoffice.knex, backoffice);
    store = await testStore(dialect);
    const definition = declarativeConnector(CONNECTOR, { pageSize: PAGE, lagSeconds: 0, startFrom: 'beginning' });
    const channel = { name: 'appio', render: ioRenderer((t) => definition.eventTypes[t], 'Europe/Rome') } as unknown as Channel;
    instance = {
      id: 'pratiche', definition, config: definition.configSchema.parse({ source: sourceFor(backoffice) }),
      settings: { id: 'pratiche', use: 'pratiche-edilizie', schedule: '* * * * *', enabled: true, deliver: { mode: 'first', channels: [{ channel: 'appio' }], listForm: true }, routes: {}, config: {} },
    };
    deps = (extra = {}) => ({ store, channels: new Map([['appio', channel]]), log: pino({ level: 'silent' }), owner: 'p1', ...extra });
  });
  afterEach(async () => {
    await store.close();
    await backoffice.destroy();
  });
  let deps: (extra?: Partial<RunnerDeps>) => RunnerDeps;

  const storedKeys = async () => (await store.knex('events').pluck('dedup_key')) as string[];
  const expectEveryRowOnce = async () => {
    const keys = await storedKeys();
    expect(keys.length).toBe(ROWS);
    expect(new Set(keys)).toEqual(new Set(Array.from({ length: ROWS }, (_, i) => `pratiche-edilizie:${i + 1}:IN_ISTRUTTORIA`)));
    expect(await store.knex('deliveries').count({ n: '*' })).toEqual([{ n: ROWS }]);
  };

  it('reports progress with the total and time left, and an interrupt resumes from the committed cursor', async () => {
    const reports: PollProgress[] = [];
    const stop = new AbortController();
    const first = await runConnector(instance, deps({
      stop: stop.signal,
      // Interrupted while the third page is being committed: the run ends after that commit.
      onProgress: (p) => { reports.push(p); if (p.rowsRead >= 2 * PAGE) stop.abort(); },
    }));
    expect(first).toMatchObject({ status: 'ok', interrupted: true, rowsRead: 2 * PAGE, eventsNew: 2 * PAGE });
    expect(reports.map((p) => [p.rowsRead, p.eventsWritten, p.rowsTotal, p.done])).toEqual([
      [PAGE, PAGE, ROWS, false], [2 * PAGE, 2 * PAGE, ROWS, false], [2 * PAGE, 2 * PAGE, ROWS, true],
    ]);
    expect(reports[0]!.etaMs).toBeGreaterThanOrEqual(0);
    expect(reports.at(-1)!.etaMs).toBe(0);
    expect((await storedKeys()).length).toBe(2 * PAGE);
    expect(await readCursor(store.knex, 'pratiche')).toMatchObject({ id: String(2 * PAGE) });

    const resumed: PollProgress[] = [];
    const second = await runConnector(instance, deps({ owner: 'p2', onProgress: (p) => resumed.push(p) }));
    expect(second).toMatchObject({ status: 'ok', rowsRead: ROWS - 2 * PAGE, eventsNew: ROWS - 2 * PAGE, eventsDuplicate: 0 });
    expect(second.interrupted).toBeUndefined();
    // The total counted on resuming covers only what was left.
    expect(resumed[0]!.rowsTotal).toBe(ROWS - 2 * PAGE);
    expect(resumed.at(-1)).toMatchObject({ rowsRead: ROWS - 2 * PAGE, done: true });
    await expectEveryRowOnce();
  });

  it('a kill before a commit loses only that batch; the next poll reads it again', async () => {
    await expect(runConnector(instance, deps({ crashPoint: throwingCrashPoint('poll-before-commit', 4) }))).rejects.toBeInstanceOf(SimulatedCrash);
    expect((await storedKeys()).length).toBe(4 * PAGE);
    const r = await runConnector(instance, deps({ owner: 'p2', clock: later }));
    expect(r).toMatchObject({ status: 'ok', rowsRead: ROWS - 4 * PAGE, eventsNew: ROWS - 4 * PAGE, eventsDuplicate: 0 });
    await expectEveryRowOnce();
    // Nothing left: a further poll reads no row.
    expect(await runConnector(instance, deps({ owner: 'p3', clock: later }))).toMatchObject({ status: 'ok', rowsRead: 0, eventsNew: 0 });
  });
});
