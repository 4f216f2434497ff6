// A file the back-office rewrites after it was read (a vendor's export regenerated whole), with
// as many lines as before or more, polled into a real store: the position cursor's fingerprint
// tells the rewrite from an append, and the rewritten file is read again from its first line. The
// ledger (dedup keys from the row's columns, never its line) drops the rows already notified.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appendFileSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { availableDialects } from '../../helpers/databases.js';
import { testStore, type TestStore } from '../../helpers/store.js';
import { declarativeConnector } from '../../../src/connectors/declarative/load.js';
import type { ConnectorInstance } from '../../../src/connectors/registry.js';
import { runConnector } from '../../../src/connectors/runner.js';
import { readCursor } from '../../../src/store/lease.js';
import type { Channel } from '../../../src/channels/channel.js';
import { ioRenderer } from '../../../src/app/render.js';
import { CF, csvConnector, HEADER, writeExport } from './helpers.js';

const { run } = await availableDialects(['sqlite', 'postgres']);
const line = (id: number, on = '23/11/2026 20:00', stato = 'DA_INVIARE') => `${id};${CF};;Alunno ${id};-1,00;${on};${stato}\n`;

function appendSettled(path: string, text: string) {
  appendFileSync(path, Buffer.from(text, 'latin1'));
  const past = new Date(Date.now() - 3_600_000);
  utimesSync(path, past, past);
}

describe.each(run)('CSV position cursor over a rewritten file, on %s', (dialect) => {
  let store: TestStore;
  let instance: ConnectorInstance;
  let path: string;
  let channel: Channel;

  beforeEach(async () => {
    store = await testStore(dialect);
    const { dir, file } = csvConnector({ shape: 'incremental', source: '{ kind: csv, path: ../export/avvisi-*.csv }' });
    path = join(dir, 'export/avvisi-20261123.csv');
    const definition = declarativeConnector(file);
    channel = { name: 'appio', render: ioRenderer((t) => definition.eventTypes[t], 'Europe/Rome') } as unknown as Channel;
    instance = {
      id: 'mensa', definition, config: definition.configSchema.parse({}),
      settings: { id: 'mensa', use: 'mensa-test', schedule: '* * * * *', enabled: true, deliver: { mode: 'first', channels: [{ channel: 'appio' }], listForm: true }, routes: {}, config: {} },
    };
  });
  afterEach(async () => { await store.close(); });

  let logged: Array<Record<string, unknown>>;
  beforeEach(() => { logged = []; });
  const log = () => pino({ level: 'warn' }, { write: (line: string) => logged.push(JSON.parse(line) as Record<string, unknown>) });
  const poll = () => runConnector(instance, { store, channels: new Map([['appio', channel]]), log: log(), owner: 'p1' });
  /** The alert numbers in the ledger, in the order they were stored. */
  const ledger = async () => ((await store.knex('events').orderBy('id').pluck('dedup_key')) as string[]).map((k) => k.split(':')[1]);
  const deliveries = async () => Number((await store.knex('deliveries').count({ n: '*' }))[0]!.n);

  it('a file rewritten with more lines and its first rows changed is read again from its start: nothing lost, nothing twice', async () => {
    writeExport(path, HEADER + line(1) + line(2) + line(3));
    expect(await poll()).toMatchObject({ status: 'ok', eventsNew: 3 });

    // Regenerated whole and longer: alert 2's line now holds alert 7. Read as an append, lines 2-4
    // would be skipped as already read and alert 7 never sent.
    writeExport(path, HEADER + line(1) + line(7) + line(3) + line(8) + line(9));
    expect(await poll()).toMatchObject({ status: 'ok', rowsRead: 5, eventsNew: 3, eventsDuplicate: 2 });
    expect(await ledger()).toEqual(['1', '2', '3', '7', '8', '9']);
    expect(await deliveries()).toBe(6);
    expect(logged).toEqual([expect.objectContaining({ file: path, linesRead: 4, msg: expect.stringMatching(/^the file was rewritten since it was read .*: reading it again from its first line$/) })]);

    // Appended to afterwards: read on from the rewritten file's end.
    appendSettled(path, line(10));
    logged = [];
    expect(await poll()).toMatchObject({ status: 'ok', rowsRead: 1, eventsNew: 1, eventsDuplicate: 0 });
    expect(logged).toEqual([]);
  });

  it('a rewrite as long as the file read, one row changed in place, is seen too', async () => {
    writeExport(path, HEADER + line(1) + line(2));
    await poll();
    writeExport(path, HEADER + line(1) + line(5));
    expect(await poll()).toMatchObject({ status: 'ok', rowsRead: 2, eventsNew: 1, eventsDuplicate: 1 });
    expect(await ledger()).toEqual(['1', '2', '5']);
  });

  it('an append continues from the position; the same bytes written again are not a rewrite', async () => {
    writeExport(path, HEADER + line(1) + line(2));
    await poll();
    appendSettled(path, line(3) + line(4));
    expect(await poll()).toMatchObject({ status: 'ok', rowsRead: 2, eventsNew: 2, eventsDuplicate: 0 });
    writeExport(path, HEADER + line(1) + line(2) + line(3) + line(4));
    expect(await poll()).toMatchObject({ status: 'ok', rowsRead: 0, eventsNew: 0 });
    expect(await ledger()).toEqual(['1', '2', '3', '4']);
  });

  /** Each delivery's alert (id:date) and state, in the order they were stored. */
  const states = async () => ((await store.knex('deliveries as d').join('events as e', 'e.id', 'd.event_id').orderBy('d.id').select('e.dedup_key', 'd.state')) as { dedup_key: string; state: string }[])
    .map((r) => `${r.dedup_key.split(':').slice(1, 3).join(':')} ${r.state}`);

  // Alert 42 was read on 23/11, then again with a new date: the newer one waits to go out (the
  // dispatcher has not run). The rewrite replays 42's older line in an earlier page (pageSize 2).
  it('a replayed older line of a row does not cancel the newer line\'s pending send, nor does a replayed cancellation', async () => {
    writeExport(path, HEADER + line(42, '20/11/2026 20:00', 'ANNULLATO') + line(1) + line(42));
    await poll();
    appendSettled(path, line(2) + line(42, '24/11/2026 20:00'));
    await poll();
    expect(await states()).toEqual(['1:2026-11-23T19 pending', '42:2026-11-23T19 cancelled', '2:2026-11-23T19 pending', '42:2026-11-24T19 pending']);

    // Regenerated whole, alert 1 changed into 5: 42's cancellation and first date come first again.
    writeExport(path, HEADER + line(42, '20/11/2026 20:00', 'ANNULLATO') + line(5) + line(42) + line(2) + line(42, '24/11/2026 20:00'));
    expect(await poll()).toMatchObject({ status: 'ok', rowsRead: 5, eventsNew: 1, cancelled: 0 });
    expect(await states()).toEqual(['1:2026-11-23T19 pending', '42:2026-11-23T19 cancelled', '2:2026-11-23T19 pending', '42:2026-11-24T19 pending', '5:2026-11-23T19 pending']);
  });

  it('a rewrite that drops the newer line of a row gives its older line back its say: the pending send is cancelled', async () => {
    writeExport(path, HEADER + line(42) + line(1));
    await poll();
    appendSettled(path, line(42, '24/11/2026 20:00'));
    await poll();
    writeExport(path, HEADER + line(42) + line(1) + line(3));
    expect(await poll()).toMatchObject({ status: 'ok', eventsNew: 1, cancelled: 1 });
    expect(await states()).toEqual(['42:2026-11-23T19 cancelled', '1:2026-11-23T19 pending', '42:2026-11-24T19 cancelled', '3:2026-11-23T19 pending']);
  });

  it('a cursor the previous release stored ({ file, line }) continues from its line, then gains the fingerprint', async () => {
    writeExport(path, HEADER + line(1) + line(2));
    await poll();
    await store.knex('connector_state').where({ instance_id: 'mensa' }).update({ cursor: JSON.stringify({ file: 'avvisi-20261123.csv', line: 3 }) });

    appendSettled(path, line(3));
    expect(await poll()).toMatchObject({ status: 'ok', rowsRead: 1, eventsNew: 1, eventsDuplicate: 0 });
    expect(await readCursor(store.knex, 'mensa')).toEqual({ file: 'avvisi-20261123.csv', line: 4, bytes: Buffer.byteLength(HEADER + line(1) + line(2) + line(3)), sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });

    // From then on a rewrite is seen.
    writeExport(path, HEADER + line(5) + line(6) + line(3) + line(4));
    expect(await poll()).toMatchObject({ status: 'ok', rowsRead: 4, eventsNew: 3, eventsDuplicate: 1 });
    expect(await ledger()).toEqual(['1', '2', '3', '5', '6', '4']);
  });

  it('a cursor the previous release stored on a file with no new line gains the fingerprint all the same', async () => {
    writeExport(path, HEADER + line(1) + line(2));
    await poll();
    await store.knex('connector_state').where({ instance_id: 'mensa' }).update({ cursor: JSON.stringify({ file: 'avvisi-20261123.csv', line: 3 }) });
    expect(await poll()).toMatchObject({ status: 'ok', rowsRead: 0 });
    expect(await readCursor(store.knex, 'mensa')).toMatchObject({ line: 3, bytes: Buffer.byteLength(HEADER + line(1) + line(2)) });
  });
});
