// A 1,000,000-line CSV export read by a declarative connector, every line mapped to an event:
// peak memory must stay far below the file's size (it is streamed a page at a time), whatever
// the size. `npx tsx bench/csv-million.ts [lines]`; prints the file size, the rows and the peak heap,
// then the same for the next run after one line is appended (the cursor's fingerprint checked).
// Measured: a 66.5 MB file, 1,000,000 events, peak heap 87 MB unconstrained (garbage not yet
// collected) in 14 s; under NODE_OPTIONS=--max-old-space-size=40 it completes with a 20 MB peak
// (slower: the collector runs constantly), where the file's text alone would need 133 MB.
// With the position cursor's fingerprint (SHA-256 of the bytes read: 0.15 s for 66 MB here),
// on a 2-core machine shared with other jobs (load 9): 17.5 s and 87 MB unconstrained (22.5 s
// for the code before it, same conditions: noise); under the 40 MB limit, a 21 MB peak. The run
// after a one-line append reads 1 row in 7-10 s (the lines already read are parsed again to be
// skipped, as before) with a 27 MB peak, 18 MB under the limit.
import { appendFileSync, mkdtempSync, mkdirSync, rmSync, utimesSync, writeFileSync, createWriteStream, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { pino } from 'pino';
import { declarativeConnector } from '../src/connectors/declarative/load.js';

const LINES = Number(process.argv[2] ?? 1_000_000);
const dir = mkdtempSync(join(tmpdir(), 'ponte-bench-csv-'));
try {
  mkdirSync(join(dir, 'c'));
  writeFileSync(join(dir, 'c', 'connector.yaml'), `name: bench-csv
description: bench
shape: incremental
source: { kind: csv, path: ../avvisi.csv, encoding: windows-1252 }
key: n_avviso
cursor: { mode: position, startFrom: beginning }
event:
  type: bench.saldo
  key: "{{ id }}"
  recipient: { fiscalCode: codice_fiscale }
  data: { pupil: alunno, balance: saldo }
  dates: { on: data_saldo }
templates:
  it:
    subject: "Mensa scolastica: credito da ricaricare"
    markdown: "Ciao, il credito mensa di {{ pupil }} il {{ on | date }} era di {{ balance }} euro. Puoi ricaricarlo con pagoPA dal portale."
`);
  const file = join(dir, 'avvisi.csv');
  const out = createWriteStream(file);
  out.write('n_avviso;codice_fiscale;alunno;saldo;data_saldo\r\n');
  for (let i = 1; i <= LINES; i++) {
    if (!out.write(`${i};RSSMRA80A01H501U;Alunno numero ${i};-12,50;24/11/2026 20:00\r\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  const past = new Date(Date.now() - 3_600_000);
  utimesSync(file, past, past);

  const conn = declarativeConnector(join(dir, 'c', 'connector.yaml'));
  const mb = (n: number) => `${(n / 1_048_576).toFixed(1)} MB`;
  // One run from the cursor given; the peak heap is sampled at every page.
  async function run(cursor: unknown) {
    let peak = 0;
    let rows = 0;
    let events = 0;
    let last: unknown;
    const started = Date.now();
    for await (const b of conn.poll({ instanceId: 'bench', config: {}, cursor, now: new Date(), log: pino({ level: 'silent' }), pendingEntities: [], signal: new AbortController().signal } as never)) {
      rows += b.rowsRead ?? 0;
      events += b.events.length;
      if (b.cursor !== undefined) last = b.cursor;
      peak = Math.max(peak, process.memoryUsage().heapUsed);
    }
    return { rows, events, cursor: last, text: `${rows} rows, ${events} events in ${((Date.now() - started) / 1000).toFixed(1)} s; peak heap ${mb(peak)}` };
  }
  const first = await run(undefined);
  console.log(`file ${mb(statSync(file).size)}, ${first.text}`);
  // The next night: one line appended. The cursor's fingerprint is checked over the 66 MB read
  // before (streamed too), then only the new line is mapped.
  appendFileSync(file, `${LINES + 1};RSSMRA80A01H501U;Alunno numero ${LINES + 1};-12,50;25/11/2026 20:00\r\n`);
  utimesSync(file, past, past);
  const next = await run(first.cursor);
  console.log(`after an append: ${next.text}`);
  if (next.rows !== 1) throw new Error(`the append run read ${next.rows} rows, not 1: the position was not kept`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
