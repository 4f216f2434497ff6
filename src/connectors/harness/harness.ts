// The acceptance suite every connector must pass (`ponte connector test <name>`), Airbyte-style:
// the real runner and store against a scratch back-office seeded from fixture.yaml. Each check
// builds its own case from the fixture's example row and says PASS, FAIL (with why) or N/A.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { ConnectorDefinition } from '../contract.js';
import type { ConnectorInstance } from '../registry.js';
import type { Channel } from '../../channels/channel.js';
import { runConnector, type RunReport } from '../runner.js';
import { openStore, migrateLatest, type Store } from '../../store/db.js';
import { ioRenderer } from '../../app/render.js';
import { instantToWallTime, localDateOf } from '../../util/local-time.js';
import { throwingCrashPoint, SimulatedCrash } from '../../util/crash-point.js';
import type { Dialect } from './scratch.js';
import type { Fixture } from './fixture.js';
import { csvBackoffice, httpBackoffice, sqlBackoffice, type HarnessBackoffice } from './backoffice.js';
import type { HttpSourceConfig } from '../sources/http/schema.js';
import type { CsvSourceConfig } from '../sources/csv/schema.js';

export interface HarnessTarget {
  name: string;
  shape: 'window' | 'incremental';
  /** A fresh definition; the harness asks for small pages and a short lag. */
  definition(overrides: { pageSize?: number; lagSeconds?: number; startFrom?: 'now' | 'beginning' }): ConnectorDefinition;
  fixture: Fixture;
  key: string;
  dateColumn: string;
  dateKind: 'datetime' | 'date';
  /** Hours from now that put a row's date inside the window (window shape). */
  dateOffsetHours: number;
  lagSeconds: number;
  cancel?: { column: string; value: string };
  /** Instance config without `source` (TypeScript connectors). */
  config: Record<string, unknown>;
  /** A file source (CSV): the harness writes the file in its format instead of a table. */
  csv?: CsvSourceConfig;
  /** An HTTP source: the harness serves its cases from 127.0.0.1. */
  http?: HttpSourceConfig;
  /** incremental: a cursor on a column (databases) or on the position in the files (file sources). */
  cursorKind?: 'column' | 'position';
}

export type CheckStatus = 'PASS' | 'FAIL' | 'N/A';
export interface CheckResult { check: string; status: CheckStatus; detail: string }

const ZONE = 'Europe/Rome';
const PAGE = 3;

interface Ctx {
  target: HarnessTarget;
  db: HarnessBackoffice;
  log: Logger;
}

/** A fresh store, back-office table and runner for one check. */
async function world(c: Ctx) {
  const dir = mkdtempSync(join(tmpdir(), 'ponte-harness-'));
  const store: Store = openStore({ client: 'sqlite', filename: join(dir, 'store.sqlite') });
  await migrateLatest(store);
  await c.db.reset();
  // The checks seed rows and then read them all: the first run starts from the beginning.
  let definition = c.target.definition({ pageSize: PAGE, lagSeconds: Math.min(c.target.lagSeconds, 2), startFrom: 'beginning' });
  const source = c.db.source();
  // Small pages where the connector has the setting (TypeScript ones); declarative ones get it above.
  const paged = definition.configSchema.safeParse({ ...c.target.config, pageSize: PAGE, source });
  const config = paged.success ? paged.data : definition.configSchema.parse({ ...c.target.config, source });
  const templates = ioRenderer((t) => definition.eventTypes[t], ZONE);
  const channel = { name: 'appio', render: templates } as unknown as Channel;
  const instance = (): ConnectorInstance => ({
    id: `harness-${c.target.name}`, definition, config,
    settings: { id: `harness-${c.target.name}`, use: c.target.name, schedule: '* * * * *', enabled: true, deliver: { mode: 'first', channels: [{ channel: 'appio' }], listForm: true }, routes: {}, config: {} },
  });
  const poll = (opts: { clock?: () => number; crashAt?: Parameters<typeof throwingCrashPoint> } = {}): Promise<RunReport> => runConnector(instance(), {
    store, channels: new Map([['appio', channel]]), log: c.log, owner: `harness-${Math.random()}`,
    ...(opts.clock ? { clock: opts.clock } : {}),
    ...(opts.crashAt ? { crashPoint: throwingCrashPoint(...opts.crashAt) } : {}),
  });
  return {
    store, poll,
    redefine(overrides: { pageSize?: number; lagSeconds?: number }) { definition = c.target.definition({ startFrom: 'beginning', ...overrides }); },
    keys: async () => (await store.knex('events').orderBy('id').pluck('dedup_key')) as string[],
    rowErrors: async () => (await store.knex('row_errors').select('row_key', 'field', 'message')) as { row_key: string; field: string; message: string }[],
    close: async () => { await store.close(); rmSync(dir, { recursive: true, force: true }); },
  };
}

/** Rows from the fixture's example, with the harness's keys and dates. */
function rows(t: HarnessTarget, n: number, date: (i: number) => string | null, from = 1): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, i) => ({ ...t.fixture.row, [t.key]: from + i, [t.dateColumn]: date(i) }));
}

/** A date inside the window (window shape), or a past change time (incremental). */
function inWindow(t: HarnessTarget, now: number, minutes = 0): string {
  const at = t.shape === 'window' ? now + t.dateOffsetHours * 3_600_000 + minutes * 60_000 : now - 3_600_000 + minutes * 60_000;
  return t.dateKind === 'date' ? localDateOf(new Date(at), ZONE) : `${instantToWallTime(new Date(at), ZONE)}.000000`;
}

type Check = (c: Ctx) => Promise<[CheckStatus, string]>;

const CHECKS: Array<[string, Check]> = [
  ['config valid', async (c) => {
    const w = await world(c);
    try {
      const def = c.target.definition({});
      if (def.check) await def.check(def.configSchema.parse({ ...c.target.config, source: c.db.source() }), c.log);
      return ['PASS', `${Object.keys(def.eventTypes).join(', ')}; query and columns readable`];
    } finally { await w.close(); }
  }],

  ['two consecutive polls yield no duplicate event', async (c) => {
    const w = await world(c);
    try {
      const now = Date.now();
      await c.db.insert(rows(c.target, 5, (i) => inWindow(c.target, now, i)));
      const a = await w.poll();
      if (a.status !== 'ok') return ['FAIL', `first poll ${a.status}: ${a.error}`];
      if (a.eventsNew === 0) return ['FAIL', `no events from 5 rows (row errors: ${JSON.stringify(await w.rowErrors())}); does the example row fall in the window?`];
      const b = await w.poll();
      return b.eventsNew === 0 ? ['PASS', `${a.eventsNew} events, then 0 new and ${b.eventsDuplicate} already known`] : ['FAIL', `the second poll made ${b.eventsNew} new event(s): the dedup key is not stable`];
    } finally { await w.close(); }
  }],

  ['a crash mid-batch resumes without loss or duplicate', async (c) => {
    const w = await world(c);
    try {
      const now = Date.now();
      await c.db.insert(rows(c.target, 8, (i) => inWindow(c.target, now, i)));
      const crashed = await w.poll({ crashAt: ['poll-before-commit', 1] }).then(() => null, (e: unknown) => e);
      if (!(crashed instanceof SimulatedCrash)) return ['N/A', 'the connector read everything in one batch (no batch boundary to crash at)'];
      const after = await w.keys();
      await w.poll({ clock: () => Date.now() + 10 * 60_000 }); // after the dead run's lease
      const keys = await w.keys();
      const reference = await world(c);
      try {
        await c.db.insert(rows(c.target, 8, (i) => inWindow(c.target, now, i)));
        await reference.poll();
        const expected = await reference.keys();
        const missing = expected.filter((k) => !keys.includes(k));
        return missing.length === 0 && keys.length === expected.length
          ? ['PASS', `crashed with ${after.length} of ${expected.length} events committed; resumed to all ${expected.length}, none twice`]
          : ['FAIL', `after the crash and a new run ${keys.length} events, expected ${expected.length}; missing: ${missing.slice(0, 3).join(', ')}`];
      } finally { await reference.close(); }
    } finally { await w.close(); }
  }],

  ['many rows sharing one cursor value across a batch boundary', async (c) => {
    const w = await world(c);
    try {
      const same = inWindow(c.target, Date.now());
      await c.db.insert(rows(c.target, 7, () => same));
      const r = await w.poll();
      // A run that failed, or rows refused as bad, is not a paging problem: say what it was.
      if (r.status !== 'ok') return ['FAIL', `the poll ${r.status}: ${r.error}`];
      const bad = await w.rowErrors();
      if (bad.length) return ['FAIL', `${bad.length} of 7 rows were refused as bad rows (e.g. ${JSON.stringify(bad[0])}): fix that first`];
      const rowsWithEvents = new Set((await w.store.knex('events').pluck('entity')) as string[]).size;
      return rowsWithEvents >= 7 ? ['PASS', `7 rows with the same ${c.target.dateColumn}, pages of ${PAGE}: all read once`] : ['FAIL', `only ${rowsWithEvents} of 7 rows sharing one ${c.target.dateColumn} were read across pages of ${PAGE}: the cursor must be (${c.target.dateColumn}, ${c.target.key})`];
    } finally { await w.close(); }
  }],

  ['a row committed late within the lag', async (c) => {
    if (c.target.shape !== 'incremental') return ['N/A', 'window connectors re-read their whole window every run'];
    const w = await world(c);
    try {
      const lag = Math.min(c.target.lagSeconds, 2);
      const dbNow = await c.db.now();
      const stamp = (msAgo: number) => {
        const at = dbNow - msAgo;
        return `${instantToWallTime(new Date(at), ZONE)}.${String(at % 1000).padStart(3, '0')}000`;
      };
      // The application clock is deliberately 10 minutes wrong: only the database clock may bound a read.
      const skewed = () => Date.now() + 10 * 60_000;
      await c.db.insert(rows(c.target, 1, () => stamp(300)));
      await w.poll({ clock: skewed });
      // Stamped earlier, committed after the first read (a slow transaction).
      await c.db.insert(rows(c.target, 1, () => stamp(1800), 2));
      await new Promise((r) => setTimeout(r, (lag + 1.2) * 1000));
      await w.poll({ clock: () => skewed() + 60_000 });
      const keys = await w.keys();
      return keys.length >= 2 ? ['PASS', `both rows read (lag ${lag} s below the database clock)`] : ['FAIL', 'the row stamped before an already-read row but committed after it was skipped: bound each read by the database clock minus a lag, fixed before reading'];
    } finally { await w.close(); }
  }],

  ['microsecond precision of the cursor', async (c) => {
    if (c.target.shape !== 'incremental') return ['N/A', 'window connectors keep no cursor'];
    const w = await world(c);
    try {
      w.redefine({ pageSize: 1, lagSeconds: 0 });
      const base = `${instantToWallTime(new Date(Date.now() - 3_600_000), ZONE)}`;
      await c.db.insert(rows(c.target, 3, (i) => `${base}.00000${i + 1}`));
      const r = await w.poll({ crashAt: ['poll-after-commit', 12] }).then((x) => x, (e: unknown) => e);
      if (r instanceof SimulatedCrash) return ['FAIL', 'more than 12 batches for 3 rows 1 µs apart: the cursor does not advance (precision lost, e.g. through a JS Date)'];
      const keys = await w.keys();
      return keys.length === 3 ? ['PASS', '3 rows 1 µs apart, pages of 1: each read once'] : ['FAIL', `${keys.length} of 3 rows 1 µs apart were read: the cursor lost precision`];
    } finally { await w.close(); }
  }],

  ['a DST change in Europe/Rome', async (c) => {
    if (c.target.dateKind === 'date') return ['N/A', 'a date column has no time of day'];
    const w = await world(c);
    try {
      const wall = ['2026-03-29 02:30:00.000000', '2026-10-25 02:30:00.000000']; // the spring gap, the autumn overlap
      const expected = ['2026-03-29T01:30:00.000Z', '2026-10-25T00:30:00.000Z'];
      const results: string[] = [];
      for (const [i, text] of wall.entries()) {
        await c.db.clear();
        await c.db.insert(rows(c.target, 1, () => text, 100 + i));
        const day = Date.parse(expected[i]!);
        await w.poll({ clock: () => (c.target.shape === 'window' ? day - c.target.dateOffsetHours * 3_600_000 : Date.now()) });
        const payloads = (await w.store.knex('events').pluck('payload')) as string[];
        results.push(payloads.some((p) => p.includes(expected[i]!)) ? 'ok' : `no event carries ${expected[i]} for local ${text.slice(0, 16)}`);
      }
      const bad = results.filter((r) => r !== 'ok');
      return bad.length === 0 ? ['PASS', '02:30 on 29 Mar → 03:30 CEST; 02:30 on 25 Oct → the earlier (CEST) instant'] : ['FAIL', bad.join('; ')];
    } finally { await w.close(); }
  }],

  ['null cursor or date values reported', async (c) => {
    if (c.target.fixture.nullDateIsValid) return ['N/A', `fixture.yaml says a NULL ${c.target.dateColumn} is a normal value`];
    const w = await world(c);
    try {
      await c.db.insert([...rows(c.target, 1, () => inWindow(c.target, Date.now())), ...rows(c.target, 1, () => null, 2)]);
      const r = await w.poll();
      if (c.target.shape === 'incremental' && c.target.cursorKind !== 'position') {
        return r.status === 'failed' && (r.error ?? '').includes(c.target.dateColumn) ? ['PASS', `the run fails, naming ${c.target.dateColumn}: ${r.error}`] : ['FAIL', `a NULL ${c.target.dateColumn} was not reported (run ${r.status})`];
      }
      const errs = await w.rowErrors();
      // A file source's row key also says where the row is: "2 (export.csv line 3)".
      const named = errs.find((e) => e.row_key === '2' || e.row_key.startsWith('2 ('));
      return named ? ['PASS', `row 2 [${named.field}]: ${named.message}`] : ['FAIL', `a NULL ${c.target.dateColumn} in row 2 produced no row error`];
    } finally { await w.close(); }
  }],

  ['a deleted or cancelled row cancels its pending send', async (c) => {
    const w = await world(c);
    try {
      const now = Date.now();
      await c.db.insert(rows(c.target, 2, (i) => inWindow(c.target, now, i)));
      await w.poll();
      const t = c.target;
      if (t.shape === 'window') {
        await c.db.remove(1);
        if (t.cancel) await c.db.update(2, { [t.cancel.column]: t.cancel.value });
      } else {
        if (!t.cancel) return ['N/A', 'an incremental connector cannot see deletions; declare cancelWhen to cancel on a status'];
        await c.db.update(1, { [t.cancel.column]: t.cancel.value, [t.dateColumn]: inWindow(t, now, 30) });
      }
      await w.poll({ clock: () => Date.now() + (t.shape === 'incremental' ? 10 * 60_000 : 0) });
      const states = (await w.store.knex('deliveries as d').join('events as e', 'e.id', 'd.event_id').select('e.entity', 'd.state', 'd.reason')) as { entity: string; state: string; reason: string | null }[];
      const cancelled = states.filter((s) => s.state === 'cancelled');
      const want = t.shape === 'window' ? (t.cancel ? 2 : 1) : 1;
      return cancelled.length >= want ? ['PASS', cancelled.map((s) => `${s.entity}: ${s.reason}`).join('; ')] : ['FAIL', `${cancelled.length} of ${want} pending send(s) cancelled after the back-office ${t.shape === 'window' ? 'deleted' : 'cancelled'} the row`];
    } finally { await w.close(); }
  }],
];

/** What the report's first line says the checks run against. */
export function backofficeLabel(target: HarnessTarget, dialect: Dialect): string {
  if (target.http) return 'a scratch HTTP JSON endpoint on 127.0.0.1';
  return target.csv ? `a scratch CSV file (${target.csv.encoding}, delimiter "${target.csv.delimiter}")` : `a scratch ${dialect} database`;
}

export const CHECK_NAMES = CHECKS.map(([n]) => n);

export async function runHarness(target: HarnessTarget, opts: { dialect: Dialect; log: Logger; onResult?: (r: CheckResult) => void }): Promise<CheckResult[]> {
  const db = target.csv ? csvBackoffice(target.csv, target.fixture, target.key, target.shape === 'incremental' ? 'append' : 'snapshot')
    : target.http ? await httpBackoffice(target.http, target.key, target.dateColumn)
      : await sqlBackoffice(opts.dialect, target.fixture, target.key);
  const results: CheckResult[] = [];
  try {
    for (const [check, fn] of CHECKS) {
      let r: CheckResult;
      try {
        const [status, detail] = await fn({ target, db, log: opts.log });
        r = { check, status, detail };
      } catch (e) {
        r = { check, status: 'FAIL', detail: (e as Error).message };
      }
      results.push(r);
      opts.onResult?.(r);
    }
  } finally {
    await db.destroy();
  }
  return results;
}

export type { Knex };
