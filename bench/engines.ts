// What bench/pgboss.ts and bench/price.ts both run, on PostgreSQL against the same transports:
// Ponte's dispatcher on a fresh schema and the lean SKIP LOCKED outbox (lean-outbox.ts), each
// with its rate and CPU per message (this process, and the PostgreSQL server).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import pLimit from 'p-limit';
import { providerHttp } from '../src/channels/http-client.js';
import type { Channel, DeliveryContext, RenderedMessage } from '../src/channels/channel.js';
import { SendJournal } from '../src/dispatch/send-journal.js';
import { Dispatcher } from '../src/dispatch/dispatcher.js';
import { dispatcherSchema, type OnUncertain } from '../src/config/schema.js';
import { migrateLatest, storeFromKnex, type Store } from '../src/store/db.js';
import { scratchDb, PG_URL } from '../src/connectors/harness/scratch.js';
import { seedDeliveries } from './seed-deliveries.js';
import { fakeEndpoint } from './fake-endpoint.js';
import { leanOutbox, type LeanExtras } from './lean-outbox.js';
import { cpuMeter } from './report.js';

export const CONCURRENCY = 32;
export const FISCAL_CODE = 'RSSMRA80A01H501U';
/** The default `dispatcher.sendAhead` for these benchmarks' concurrency, read from the schema (twice it). */
export const DEFAULT_SEND_AHEAD = dispatcherSchema.parse({ concurrency: CONCURRENCY }).sendAhead;
/**
 * The default `dispatcher.sendAhead` until 2026-12-07, when it was a fixed number of deliveries
 * prepared ahead; within any sendAhead the dispatcher now prepares as many as its measured
 * latencies call for (src/dispatch/send-ahead.ts), so this row shows what a small ceiling costs.
 */
export const SMALL_SEND_AHEAD = 8;

/** One send: a POST to the fake, or nothing at all (the engines' own cost). */
export interface Transport {
  name: string;
  post(i: number | string): Promise<string>;
  close(): Promise<void>;
  /** Its requests go through providerHttp(), as IO's and WhatsApp's (Channel.requestsHooked). */
  requestsHooked?: boolean;
}

export async function httpTransport(): Promise<Transport> {
  const endpoint = await fakeEndpoint(0);
  const { http, close } = providerHttp(10_000);
  const url = `${endpoint.origin}/api/v1/messages`;
  return {
    name: 'http 0 ms',
    requestsHooked: true,
    async post(i) {
      const r = await http.post(url, { fiscal_code: FISCAL_CODE, content: { subject: `Promemoria ${i}`, markdown: 'x'.repeat(100) } });
      return (r.data as { id: string }).id;
    },
    async close() { close(); await endpoint.close(); },
  };
}

export function noopTransport(): Transport {
  let n = 0;
  return { name: 'no-op', post: async () => `m${++n}`, close: async () => {} };
}

export interface Run { setting: string; perSec: number; cpu: { nodeUs: number; pgUs: number } }

/** The baseline: `n` sends through a plain p-limit loop of CONCURRENCY, each as a slot frees. */
export async function bare(t: Transport, n: number): Promise<Run> {
  const limit = pLimit(CONCURRENCY);
  const cpu = cpuMeter();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: n }, (_, i) => limit(() => t.post(i))));
  return { setting: `p-limit ${CONCURRENCY}`, perSec: (n / (performance.now() - t0)) * 1000, cpu: cpu.stop(n) };
}

/**
 * The channel every benchmark dispatches through: a fixed message, no request for eligibility
 * (`localCheck`, as WhatsApp's consent lookup: no provider slot) nor status, so that what is
 * measured is the engine and `post`, the send.
 */
export function benchChannel(post: (ctx: DeliveryContext, m: RenderedMessage) => Promise<string>, opts: { url?: string; requestsHooked?: boolean } = {}): Channel<RenderedMessage> {
  const url = opts.url ?? 'bench';
  return {
    name: 'appio',
    requestsHooked: opts.requestsHooked === true,
    render: (ctx) => ({ language: 'it', subject: `Promemoria ${ctx.event.key}`, markdown: 'x'.repeat(100) }),
    checkRecipient: async () => ({ ok: true }),
    localCheck: true,
    describeSend: () => ({ method: 'POST', url, headers: {} }),
    send: async (ctx, m) => ({ providerId: await post(ctx, m) }),
    status: async () => ({ state: 'processed' }),
  };
}

/** Where ponte() keeps its journals (one per run, removed after it). */
const journalRoot = mkdtempSync(join(tmpdir(), 'ponte-bench-journal-'));

/**
 * The dispatcher as every benchmark runs it: claims of 200, no quick retries, the status poll an
 * hour away (the figures are the sends), and a send journal, as `ponte run` keeps one.
 */
export function benchDispatcher(store: Store, channel: Channel, sendAhead: number, onUncertain: OnUncertain, journalDir: string): { dispatcher: Dispatcher; journal: SendJournal } {
  const cfg = dispatcherSchema.parse({ concurrency: CONCURRENCY, sendAhead, onUncertain, batchSize: 200, quickRetries: 0, statusPollSeconds: [3600] });
  const journal = SendJournal.create(journalDir, 'bench');
  return { dispatcher: new Dispatcher({ store, channels: new Map([[channel.name, channel]]), cfg, log: pino({ level: 'silent' }), journal }), journal };
}

/** Passes until `n` deliveries are processed, or one processes none; how many were. */
export async function drainAll(dispatcher: Dispatcher, n: number): Promise<number> {
  let done = 0;
  while (done < n) {
    const s = await dispatcher.drain();
    if (s.processed === 0) break;
    done += s.processed;
  }
  return done;
}

/** Ponte's dispatcher on a fresh PostgreSQL schema of `n` pending deliveries. */
export async function ponte(t: Transport, n: number, sendAhead: number, onUncertain: OnUncertain = 'hold'): Promise<Run> {
  const db = await scratchDb('postgres');
  try {
    const store = storeFromKnex(db.knex);
    await migrateLatest(store);
    await seedDeliveries(store, n, FISCAL_CODE);
    const channel = benchChannel((ctx) => t.post(ctx.event.key), { requestsHooked: t.requestsHooked === true });
    const { dispatcher, journal } = benchDispatcher(store, channel, sendAhead, onUncertain, journalRoot);
    const cpu = cpuMeter();
    const t0 = performance.now();
    const done = await drainAll(dispatcher, n);
    const ms = performance.now() - t0;
    const used = cpu.stop(done);
    journal.remove();
    if (done !== n) throw new Error(`ponte processed ${done} of ${n}`);
    // pgboss.ts labels its ÷ best pg-boss rows by the second item of this list.
    const mode = onUncertain === 'hold' ? `sendAhead ${sendAhead}` : 'onUncertain resend';
    return { setting: `concurrency ${CONCURRENCY}, ${mode}, batch 200`, perSec: (done / ms) * 1000, cpu: used };
  } finally {
    await db.destroy();
  }
}

/** The lean SKIP LOCKED outbox (lean-outbox.ts), with any of Ponte's guarantees added. */
export async function lean(t: Transport, n: number, loops: number, batch: number, extras: LeanExtras & { wave?: number } = {}): Promise<Run> {
  const ledgerIndexes = extras.ledger ? await (ponteIndexes ??= deliveriesIndexes()) : [];
  const outbox = await leanOutbox(PG_URL, { n, loops, batch, concurrency: CONCURRENCY, ...extras, ledgerIndexes });
  try {
    const cpu = cpuMeter();
    const r = await outbox.run(t);
    if (r.done !== n) throw new Error(`lean outbox sent ${r.done} of ${n}`);
    return { setting: `lean outbox ${loops} loops×batch ${batch}${extras.wave ? ` in waves of ${extras.wave}` : ''}`, perSec: r.perSec, cpu: cpu.stop(n) };
  } finally {
    await outbox.drop();
  }
}

let ponteIndexes: Promise<string[]> | undefined;

/**
 * The indexes of Ponte's deliveries table but its primary key, as its migrations make them (read
 * from a freshly migrated schema, so the ledger rung follows them): `CREATE … INDEX name ON
 * deliveries …`, without the schema.
 */
async function deliveriesIndexes(): Promise<string[]> {
  const db = await scratchDb('postgres');
  try {
    await migrateLatest(storeFromKnex(db.knex));
    const r = await db.knex.raw(`select indexdef from pg_indexes where schemaname = current_schema() and tablename = 'deliveries' and indexname <> 'deliveries_pkey' order by indexname`);
    return (r.rows as Array<{ indexdef: string }>).map((x) => x.indexdef.replace(/ ON \S+\.deliveries /, ' ON deliveries '));
  } finally {
    await db.destroy();
  }
}
