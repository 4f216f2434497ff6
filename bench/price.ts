// What each of Ponte's guarantees costs, on PostgreSQL: the lean SKIP LOCKED outbox (lean-outbox.ts,
// at least once, nothing kept but claim and completion) with Ponte's guarantees added one at a
// time — a durable `sending` before the requests leave (a crash holds them instead of resending),
// the attempts log, the deliveries row and indexes of Ponte's ledger — then Ponte's dispatcher
// itself, with pg-boss's guarantee (`onUncertain: resend`) and with its own (the default). Each
// rung as a rate, a ratio to the lean outbox of its round, and CPU per message, with no-op sends
// (the engines' own cost) and over HTTP at 0 ms. Where the dispatch and pg-boss targets are missed,
// this says which part of the engine the gap is.
//   tsx bench/price.ts         (20,000 messages; BENCH_QUICK=1: 2,000; BENCH_MESSAGES=n; BENCH_REPEAT=rounds)
import { medianIndex, printTable, round, writeResult, type Row } from './report.js';
import { bare, CONCURRENCY, DEFAULT_SEND_AHEAD, SMALL_SEND_AHEAD, httpTransport, lean, noopTransport, ponte, type Run, type Transport } from './engines.js';
import type { LeanExtras } from './lean-outbox.js';

const N = Number(process.env.BENCH_MESSAGES ?? (process.env.BENCH_QUICK ? 2_000 : 20_000));
const ROUNDS = Number(process.env.BENCH_REPEAT ?? (process.env.BENCH_QUICK ? 1 : 3));
/**
 * The lean outbox's loops × batch, and the wave each loop sends at once: its best setting in
 * bench/pgboss.ts (a batch at once: a durable `sending` there would hold 400 deliveries on a
 * crash), and waves of 10, so that at most 4 × 10 are `sending`, as Ponte's 32 requests in flight
 * and 8 prepared.
 */
const SHAPES = [[4, 100, 100], [4, 100, 10]] as const;

/** `base`: the rung its ofLean is taken against (the lean outbox of its shape; Ponte: the first). */
interface Rung { name: string; base: number; run(t: Transport): Promise<Run> }

const rungs: Rung[] = [
  ...SHAPES.flatMap(([loops, batch, wave], shape) => ([
    ['lean outbox (at least once)', {}],
    ['+ durable sending', { sending: true }],
    ['+ attempts log', { sending: true, attempts: true }],
    ['+ ledger row and indexes', { sending: true, attempts: true, ledger: true }],
  ] as Array<[string, LeanExtras]>).map(([name, extras], _, ladder) => ({
    name: `${name}, ${loops}×${batch}${wave < batch ? ` in waves of ${wave}` : ''}`,
    base: shape * ladder.length,
    run: (t: Transport) => lean(t, N, loops, batch, { ...extras, wave }),
  }))),
  { name: 'Ponte, onUncertain resend', base: 0, run: (t) => ponte(t, N, DEFAULT_SEND_AHEAD, 'resend') },
  { name: `Ponte, default (sendAhead ${DEFAULT_SEND_AHEAD})`, base: 0, run: (t) => ponte(t, N, DEFAULT_SEND_AHEAD) },
  { name: `Ponte, sendAhead ${SMALL_SEND_AHEAD}`, base: 0, run: (t) => ponte(t, N, SMALL_SEND_AHEAD) },
];

const rows: Row[] = [];
for (const make of [async () => noopTransport(), httpTransport]) {
  const t = await make();
  try {
    await bare(t, N); // warm the sockets and the JIT
    const results: Array<{ bare: Run; rungs: Run[] }> = [];
    for (let r = 0; r < ROUNDS; r++) {
      const b = await bare(t, N);
      const runs: Run[] = [];
      for (const rung of rungs) runs.push(await rung.run(t));
      results.push({ bare: b, rungs: runs });
    }
    rungs.forEach((rung, k) => {
      // Per rung, its median round; ofLean against its base rung in that round.
      const mid = results[medianIndex(results.map((x) => x.rungs[k]!.perSec))]!;
      const run = mid.rungs[k]!;
      rows.push({
        transport: t.name,
        engine: rung.name,
        perSec: Math.round(run.perSec),
        ofLean: round(run.perSec / mid.rungs[rung.base]!.perSec),
        ofBare: t.name === 'no-op' ? '' : round(run.perSec / mid.bare.perSec),
        nodeCpuUs: run.cpu.nodeUs,
        pgCpuUs: Number.isNaN(run.cpu.pgUs) ? '' : run.cpu.pgUs,
        ratesOfRounds: results.map((x) => Math.round(x.rungs[k]!.perSec)).join(' / '),
      });
    });
  } finally {
    await t.close();
  }
}

const title = `What each guarantee costs: ${N} sends, concurrency ${CONCURRENCY}, PostgreSQL; a lean SKIP LOCKED outbox with Ponte's guarantees added one at a time, then Ponte (ofLean: ÷ the lean outbox of the same shape, Ponte ÷ the 4×100 one; CPU in µs per message; the median of ${ROUNDS} rounds per rung)`;
printTable(title, rows);
writeResult('price', title, rows, { messages: N, concurrency: CONCURRENCY, rounds: ROUNDS });
