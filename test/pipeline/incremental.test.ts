// Incremental connectors: each batch's events and its cursor are committed together, so a crash
// between batches resumes exactly after the last committed batch — nothing lost, nothing twice.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { pino } from 'pino';
import { availableDialects } from '../helpers/databases.js';
import { testStore, type TestStore } from '../helpers/store.js';
import { citizen } from '../helpers/pipeline.js';
import { defineConnector } from '../../src/connectors/contract.js';
import type { ConnectorInstance } from '../../src/connectors/registry.js';
import { runConnector } from '../../src/connectors/runner.js';
import { readCursor } from '../../src/store/lease.js';
import { SimulatedCrash, throwingCrashPoint } from '../../src/util/crash-point.js';
import type { Channel } from '../../src/channels/channel.js';

const { run } = await availableDialects(['sqlite', 'postgres']);

// A back-office table of 25 rows read in pages of 10 after the cursor (a row id here).
const ROWS = Array.from({ length: 25 }, (_, i) => ({ id: i + 1 }));
const seenCursors: Array<number | undefined> = [];

const incremental = defineConnector<z.ZodObject<{}>, { lastId: number }>({
  name: 'numbers',
  description: 'rows after a cursor',
  shape: 'incremental',
  configSchema: z.object({}),
  eventTypes: { 'n.new': { templates: { it: { subject: 'unused', markdown: 'unused' } } } },
  async *poll(ctx) {
    seenCursors.push(ctx.cursor?.lastId);
    let last = ctx.cursor?.lastId ?? 0;
    for (;;) {
      const page = ROWS.filter((r) => r.id > last).slice(0, 10);
      if (page.length === 0) return;
      last = page.at(-1)!.id;
      yield {
        events: page.map((r) => ({ key: `n:${r.id}`, type: 'n.new', rowKey: String(r.id), recipient: { fiscalCode: citizen(r.id) }, data: {} })),
        cursor: { lastId: last },
        rowsRead: page.length,
      };
    }
  },
});

// Rendering is not under test here: a channel that accepts any event.
const quiet: Channel = {
  name: 'appio',
  render: () => ({ subject: 's', markdown: 'm', language: 'it' }),
  checkRecipient: async () => ({ ok: true }),
  describeSend: () => ({ method: 'POST', url: 'x', headers: {} }),
  send: async () => ({ providerId: 'x' }),
  status: async () => ({ state: 'processed' }),
};

describe.each(run)('incremental connector on %s', (dialect) => {
  let store: TestStore;
  const instance: ConnectorInstance = {
    id: 'numbers-1', definition: incremental, config: {},
    settings: { id: 'numbers-1', use: 'numbers', schedule: '* * * * *', enabled: true, deliver: { mode: 'first', channels: [{ channel: 'appio' }], listForm: true }, routes: {}, config: {} },
  };
  const deps = () => ({ store, channels: new Map([['appio', quiet]]), log: pino({ level: 'silent' }), owner: 'p1' });
  beforeEach(async () => { store = await testStore(dialect); seenCursors.length = 0; });
  afterEach(async () => { await store.close(); });

  it('a crash between batches resumes after the last committed one', async () => {
    // Crash before committing the second page: the first page and its cursor are in.
    await expect(runConnector(instance, { ...deps(), crashPoint: throwingCrashPoint('poll-before-commit', 1) })).rejects.toBeInstanceOf(SimulatedCrash);
    expect(await store.knex('events').count({ n: '*' })).toEqual([{ n: 10 }]);
    expect(await readCursor(store.knex, 'numbers-1')).toEqual({ lastId: 10 });

    const later = () => Date.now() + 10 * 60_000; // after the dead process's lease
    const r = await runConnector(instance, { ...deps(), owner: 'p2', clock: later });
    expect(r).toMatchObject({ status: 'ok', eventsNew: 15, eventsDuplicate: 0, rowsRead: 15 });
    expect(seenCursors).toEqual([undefined, 10]);
    const keys = (await store.knex('events').orderBy('id').pluck('dedup_key')) as string[];
    expect(keys).toEqual(ROWS.map((r) => `n:${r.id}`));
    expect(await store.knex('deliveries').count({ n: '*' })).toEqual([{ n: 25 }]);
    expect(await readCursor(store.knex, 'numbers-1')).toEqual({ lastId: 25 });
  });

  it('a crash after the commit but before the run is recorded changes nothing on the next run', async () => {
    await expect(runConnector(instance, { ...deps(), crashPoint: throwingCrashPoint('poll-after-commit', 2) })).rejects.toBeInstanceOf(SimulatedCrash);
    expect(await readCursor(store.knex, 'numbers-1')).toEqual({ lastId: 25 });
    const r = await runConnector(instance, { ...deps(), owner: 'p2', clock: () => Date.now() + 10 * 60_000 });
    expect(r).toMatchObject({ status: 'ok', eventsNew: 0, rowsRead: 0 });
    expect(await store.knex('events').count({ n: '*' })).toEqual([{ n: 25 }]);
  });
});
