// Ingest benchmark (issue 6 #5 and #9): a declarative incremental connector (the pratiche-edilizie
// example) backfills a big PostgreSQL back-office table through the real runner into a
// PostgreSQL store. Figures: events/s against a bare INSERT … SELECT copy of the same rows in the
// same run, and peak RSS of a small and a big backfill, each in a fresh child process.
//   npx tsx bench/ingest.ts              (100,000 and 1,000,000 rows)
//   BENCH_QUICK=1 npx tsx bench/ingest.ts (20,000 and 200,000 rows)
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import type { Knex } from 'knex';
import { scratchDb } from '../src/connectors/harness/scratch.js';
import { migrateLatest, storeFromKnex } from '../src/store/db.js';
import { declarativeConnector } from '../src/connectors/declarative/load.js';
import { ioRenderer } from '../src/app/render.js';
import type { Channel } from '../src/channels/channel.js';
import type { ConnectorInstance } from '../src/connectors/registry.js';
import { runConnector } from '../src/connectors/runner.js';
import { fiscalCodeCheckChar } from '../src/util/fiscal-code.js';
import { PONTE_ROOT } from '../src/util/ponte-root.js';
import { printTable, writeResult } from './report.js';

const QUICK = Boolean(process.env.BENCH_QUICK);
const SIZES = QUICK ? [20_000, 200_000] : [100_000, 1_000_000];
const CODES = 10_000;
const CONNECTOR = join(PONTE_ROOT, 'connectors/pratiche-edilizie/connector.yaml');

interface ChildResult {
  rows: number;
  events: number;
  ingestMs: number;
  /** CPU time of Ponte's process (all its threads) during the ingest. */
  cpuMs: number;
  copyMs: number;
  maxRssMiB: number;
}

/** A valid fictitious fiscal code per n (distinct for n < 10,000). */
function fiscalCode(n: number): string {
  const months = 'ABCDEHLMPRST';
  const first15 = `BNC${'ABCDEFGHIL'[Math.floor(n / 1000) % 10]}RS${String(n % 100).padStart(2, '0')}${months[Math.floor(n / 100) % 10]}${String(1 + (n % 28)).padStart(2, '0')}H501`;
  return first15 + fiscalCodeCheckChar(first15);
}

/** The back-office table of docs/connectors.md's example, filled server-side (generate_series). */
async function seed(knex: Knex, rows: number): Promise<void> {
  await knex.raw('create table codici (n integer primary key, cf varchar(16) not null)');
  for (let i = 0; i < CODES; i += 1000) {
    await knex('codici').insert(Array.from({ length: 1000 }, (_, j) => ({ n: i + j, cf: fiscalCode(i + j) })));
  }
  await knex.raw(`create table pratiche_edilizie (
    id integer primary key, numero_pratica varchar(30) not null, codice_fiscale varchar(16) not null,
    telefono varchar(20), stato varchar(30) not null, aggiornata_il timestamp not null)`);
  await knex.raw(`insert into pratiche_edilizie
    select g, 'PE-2026-' || lpad(g::text, 7, '0'), c.cf, '347 ' || lpad((g % 10000000)::text, 7, '0'),
           (array['PRESENTATA','IN_ISTRUTTORIA','APPROVATA'])[1 + g % 3],
           timestamp '2026-01-01' + g * interval '1 second'
    from generate_series(1, ?) g join codici c on c.n = g % ${CODES}`, [rows]);
  // What a back-office polled by a change column should have: an index on (column, key).
  await knex.raw('create index pratiche_cursor on pratiche_edilizie (aggiornata_il, id)');
  await knex.raw('analyze pratiche_edilizie');
}

async function child(rows: number): Promise<ChildResult> {
  const backoffice = await scratchDb('postgres');
  const storeDb = await scratchDb('postgres');
  try {
    await seed(backoffice.knex, rows);
    // Baseline: the same rows copied by the database itself into a same-shaped table.
    await backoffice.knex.raw('create table copia (like pratiche_edilizie)');
    const c0 = performance.now();
    await backoffice.knex.raw('insert into copia select * from pratiche_edilizie');
    const copyMs = performance.now() - c0;

    const store = storeFromKnex(storeDb.knex);
    await migrateLatest(store);
    process.env.PONTE_BENCH_BACKOFFICE_URL = backoffice.url;
    const definition = declarativeConnector(CONNECTOR, { startFrom: 'beginning', lagSeconds: 0 });
    const channel = { name: 'appio', render: ioRenderer((t) => definition.eventTypes[t], 'Europe/Rome') } as unknown as Channel;
    const instance: ConnectorInstance = {
      id: 'pratiche', definition, config: definition.configSchema.parse({ source: { client: 'pg', connectionEnv: 'PONTE_BENCH_BACKOFFICE_URL' } }),
      settings: { id: 'pratiche', use: 'pratiche-edilizie', schedule: '* * * * *', enabled: true, deliver: { mode: 'first', channels: [{ channel: 'appio' }], listForm: true }, routes: {}, config: {} },
    };
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const report = await runConnector(instance, { store, channels: new Map([['appio', channel]]), log: pino({ level: 'silent' }), owner: 'bench', onProgress: () => {} });
    const ingestMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    if (report.status !== 'ok') throw new Error(`poll ${report.status}: ${report.error ?? ''}`);
    const [{ n }] = (await storeDb.knex('events').count({ n: '*' })) as [{ n: string }];
    if (Number(n) !== rows || report.rowErrors) throw new Error(`expected ${rows} events, got ${n} (${report.rowErrors} row errors)`);
    return { rows, events: Number(n), ingestMs, cpuMs, copyMs, maxRssMiB: process.resourceUsage().maxRSS / 1024 };
  } finally {
    await storeDb.destroy();
    await backoffice.destroy();
  }
}

if (process.argv[2] === 'child') {
  const result = await child(Number(process.argv[3]));
  console.log(JSON.stringify(result));
} else {
  const results: ChildResult[] = [];
  for (const rows of SIZES) {
    // A fresh process per size: peak RSS is the process's own, nothing left over from another run.
    // The same fixed heap ceiling for both: V8 otherwise lets an idle-rich heap grow with run
    // length, which is GC laziness, not retained memory. A real leak fails the big run (out of memory).
    const r = spawnSync(process.execPath, [...process.execArgv, '--max-old-space-size=128', fileURLToPath(import.meta.url), 'child', String(rows)], { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
    if (r.status !== 0) {
      console.error(r.stderr);
      throw new Error(`ingest child (${rows} rows) exited with ${r.status}`);
    }
    results.push(JSON.parse(r.stdout.trim().split('\n').at(-1)!) as ChildResult);
  }
  const rowsOut = results.map((r) => {
    const perSec = (r.events / r.ingestMs) * 1000;
    const copyPerSec = (r.rows / r.copyMs) * 1000;
    return { rows: r.rows, pontePerSec: Math.round(perSec), copyPerSec: Math.round(copyPerSec), ratio: Number((perSec / copyPerSec).toFixed(3)), seconds: Number((r.ingestMs / 1000).toFixed(1)), maxRssMiB: Math.round(r.maxRssMiB) };
  });
  const small = rowsOut[0]!;
  const big = rowsOut[rowsOut.length - 1]!;
  const rssRatio = Number((big.maxRssMiB / small.maxRssMiB).toFixed(3));
  const title = `Ingest: declarative incremental connector (pratiche-edilizie, pages of 1000), PostgreSQL back-office → PostgreSQL store; peak RSS ${big.rows} ÷ ${small.rows} rows = ${rssRatio} (target ≤ 1.10); target ≥ 20,000 events/s`;
  printTable(title, rowsOut);
  const file = writeResult('ingest', title, rowsOut, { quick: QUICK, rssRatio });
  console.log(`written to ${file}`);
}
