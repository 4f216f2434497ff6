// Dispatch benchmark (issue 6 #9): Ponte's dispatcher (claim → POST → record, on a real store)
// against a bare axios keep-alive loop posting the same messages to the same local endpoint (in a
// process of its own: see fake-endpoint.ts) with the same concurrency. Prints the ratio; writes
// bench/results/dispatch-<date>-<hhmm>.json (report.ts).
//   npm run bench            (defaults: 20,000 messages, concurrency 32, latencies 0 and 20 ms)
//   BENCH_MESSAGES=5000 npm run bench
import pLimit from 'p-limit';
import { providerHttp } from '../src/channels/http-client.js';
import { endOfTurn } from '../src/util/next-turn.js';
import type { Channel, RenderedMessage } from '../src/channels/channel.js';
import { seedDeliveries } from './seed-deliveries.js';
import type { OnUncertain } from '../src/config/schema.js';
import { migrateLatest, openStore, storeFromKnex, type Store } from '../src/store/db.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scratchDb, type Dialect } from '../src/connectors/harness/scratch.js';
import { fakeEndpoint } from './fake-endpoint.js';
import { medianIndex, printTable, writeResult, type Row } from './report.js';
import { benchChannel, benchDispatcher, CONCURRENCY, DEFAULT_SEND_AHEAD, drainAll, SMALL_SEND_AHEAD } from './engines.js';

const N = Number(process.env.BENCH_MESSAGES ?? 20_000);
const LATENCIES = (process.env.BENCH_LATENCIES ?? '0,20').split(',').map(Number);
const DIALECTS = (process.env.BENCH_DIALECTS ?? 'sqlite,postgres').split(',') as Dialect[];
/** The most deliveries prepared beyond the requests in flight: the default (twice the concurrency), and the old default 8 (engines.ts). */
const SEND_AHEAD = (process.env.BENCH_SEND_AHEAD ?? `${DEFAULT_SEND_AHEAD},${SMALL_SEND_AHEAD}`).split(',').map(Number);
/** Also measured: onUncertain resend (at least once: no `sending` before the request), the default sendAhead (all of it prepared: none is exposed). */
const RESEND = process.env.BENCH_RESEND !== '0';

/**
 * The baseline: a plain p-limit loop, each request sent as soon as a slot frees (`burst` false).
 * With `burst`, each waits for the end of the event loop's turn and leaves with the others, as
 * Ponte's provider slots send them: on 2 cores at 0 ms that alone nearly doubled the loop's rate,
 * so the stronger loop is measured too, for a ratio that does not flatter the engine.
 */
async function bareLoop(url: string, burst = false): Promise<number> {
  const { http, close } = providerHttp(10_000);
  const limit = pLimit(CONCURRENCY);
  const t0 = performance.now();
  await Promise.all(Array.from({ length: N }, (_, i) => limit(async () => {
    if (burst) await endOfTurn();
    return http.post(`${url}/api/v1/messages`, { fiscal_code: 'RSSMRA80A01H501U', content: { subject: `Promemoria ${i}`, markdown: 'x'.repeat(100) } });
  })));
  const ms = performance.now() - t0;
  close();
  return (N / ms) * 1000;
}

/** The same POST as the bare loop, through the channel every benchmark dispatches with. */
function httpChannel(url: string): Channel<RenderedMessage> & { close(): void } {
  const { http, close } = providerHttp(10_000);
  return {
    ...benchChannel(async (ctx, m) => {
      const r = await http.post(`${url}/api/v1/messages`, { fiscal_code: ctx.event.recipient.fiscalCode, content: { subject: m.subject, markdown: m.markdown } });
      return (r.data as { id: string }).id;
    }, { url, requestsHooked: true }), // through providerHttp(), as IO's and WhatsApp's: the journal writes at the socket
    close,
  };
}

/** Its rate, and how many it prepared ahead at the end with the latencies behind that (send-ahead.ts). */
async function ponte(url: string, dialect: Dialect, sendAhead: number, onUncertain: OnUncertain): Promise<{ perSec: number; ahead: string }> {
  // The store exactly as Ponte opens it (SQLite: WAL and its pragmas), on a scratch file or schema.
  const dir = mkdtempSync(join(tmpdir(), 'ponte-bench-'));
  const db = dialect === 'sqlite' ? null : await scratchDb(dialect);
  const store: Store = db ? storeFromKnex(db.knex) : openStore({ client: 'sqlite', filename: join(dir, 'store.sqlite') });
  await migrateLatest(store);
  await seedDeliveries(store, N);
  const channel = httpChannel(url);
  const { dispatcher, journal } = benchDispatcher(store, channel, sendAhead, onUncertain, join(dir, 'journal'));
  const t0 = performance.now();
  const done = await drainAll(dispatcher, N);
  const ms = performance.now() - t0;
  const { commitMs, sendMs } = dispatcher.sendAhead.latencies;
  const ahead = `${dispatcher.sendAhead.now} (${commitMs?.toFixed(1) ?? '-'} / ${sendMs?.toFixed(1) ?? '-'} ms)`;
  channel.close();
  journal.remove();
  if (db) await db.destroy();
  else await store.close();
  rmSync(dir, { recursive: true, force: true });
  return { perSec: (done / ms) * 1000, ahead };
}

// Rounds: in each, every Ponte setting runs between two bare loops and its ratio is taken against
// their mean; the median round is reported. One run of each swings by ±10 % on a shared 2-core
// machine, more than the differences worth seeing, and the host's speed drifts within a round: the
// last setting used to run a minute after the round's only bare loop (rounds of one setting
// ranged 0.80–1.24 on 2026-12-06).
const REPEAT = Number(process.env.BENCH_REPEAT ?? 3);
const rows: Row[] = [];
for (const latency of LATENCIES) {
  const endpoint = await fakeEndpoint(latency);
  const settings = DIALECTS.flatMap((dialect) => [
    ...SEND_AHEAD.map((sendAhead) => ({ dialect, sendAhead, onUncertain: 'hold' as const, ponte: [] as number[], ahead: [] as string[], bare: [] as number[] })),
    ...(RESEND ? [{ dialect, sendAhead: DEFAULT_SEND_AHEAD, onUncertain: 'resend' as const, ponte: [] as number[], ahead: [] as string[], bare: [] as number[] }] : []),
  ]);
  const bursts: number[] = []; // one per round
  await bareLoop(endpoint.origin); // warm the sockets and the JIT first, as pgboss.ts does: a cold first loop inflated round 1's ratios
  for (let round = 0; round < REPEAT; round++) {
    bursts.push(await bareLoop(endpoint.origin, true));
    let before = await bareLoop(endpoint.origin);
    for (const s of settings) {
      const run = await ponte(endpoint.origin, s.dialect, s.sendAhead, s.onUncertain).catch((e: unknown) => { console.error(`${s.dialect}: ${(e as Error).message}`); return { perSec: NaN, ahead: '' }; });
      s.ponte.push(run.perSec);
      s.ahead.push(run.ahead);
      const after = await bareLoop(endpoint.origin);
      s.bare.push((before + after) / 2);
      before = after;
    }
  }
  for (const s of settings) {
    const ratios = s.ponte.map((p, round) => p / s.bare[round]!);
    const mid = medianIndex(ratios);
    rows.push({
      latencyMs: latency, store: s.dialect, sendAhead: s.sendAhead, onUncertain: s.onUncertain, bareLoopPerSec: Math.round(s.bare[mid]!), pontePerSec: Math.round(s.ponte[mid]!),
      ratio: Number(ratios[mid]!.toFixed(3)), ratiosOfRounds: ratios.map((r) => r.toFixed(2)).join(' / '),
      burstLoopPerSec: Math.round(bursts[mid]!), ratioToBurstLoop: Number((s.ponte[mid]! / bursts[mid]!).toFixed(3)),
      aheadAtEnd: s.ahead[mid]!,
    });
  }
  await endpoint.close();
}

const title = `Dispatch: ${N} messages, concurrency ${CONCURRENCY}, Ponte's dispatcher ÷ a bare axios keep-alive loop (the fake endpoint in a process of its own; median of ${REPEAT} rounds, each setting against the mean of the bare loops run just before and after it; ratioToBurstLoop: ÷ the same loop sending in bursts per event-loop turn, as Ponte does; aheadAtEnd: deliveries the dispatcher was preparing ahead at the end, within sendAhead, from its averages of the \`sending\` commit / the request)`;
printTable(title, rows);
writeResult('dispatch', title, rows, { messages: N, concurrency: CONCURRENCY, rounds: REPEAT });
