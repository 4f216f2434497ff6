// Rate fidelity (issue 6 §9): messages through three IO services of one owner against the IO
// sandbox's real limit (150 requests per 5 s per owner, every operation counted). Measures how
// much of the limit Ponte uses while it has a backlog, how many requests were answered 429, and
// how many IO requests each PROCESSED message cost (profile check + send + status polls).
//   tsx bench/rate-fidelity.ts     (5,000 messages, ~9 min; BENCH_QUICK=1: 600; BENCH_MESSAGES=n)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { AppioChannel } from '../src/channels/appio/index.js';
import { startIoSandbox } from '../src/sandbox/io/index.js';
import { commitBatch, type NewEvent } from '../src/store/commit-batch.js';
import { Dispatcher } from '../src/dispatch/dispatcher.js';
import { dispatcherSchema } from '../src/config/schema.js';
import { migrateLatest, openStore } from '../src/store/db.js';
import { fiscalCodeCheckChar } from '../src/util/fiscal-code.js';
import { printTable, round, writeResult } from './report.js';

const N = Number(process.env.BENCH_MESSAGES ?? (process.env.BENCH_QUICK ? 600 : 5_000));
const LIMIT = { requests: 150, windowMs: 5000 };
const SERVICES = ['anagrafe', 'tributi', 'scuola'];

function citizen(n: number): string {
  const first15 = `RSSMRA80A01H${String(n % 1000).padStart(3, '0')}`;
  return first15 + fiscalCodeCheckChar(first15);
}

const sandbox = await startIoSandbox({
  limit: LIMIT,
  keys: Object.fromEntries(SERVICES.map((s) => [`key-${s}`, { service: s, owner: 'comune' }])),
});
const channel = new AppioChannel({
  baseUrl: sandbox.url,
  services: Object.fromEntries(SERVICES.map((s) => [s, { keyEnv: `IO_KEY_${s.toUpperCase()}`, owner: 'comune' }])),
  render: (ctx) => ({
    language: 'it',
    subject: `Promemoria del Comune n. ${ctx.event.key}`,
    markdown: `Gentile cittadino, ti ricordiamo l'appuntamento ${ctx.event.key}. Questo è un messaggio di prova inviato dal Comune tramite Ponte.`,
  }),
  env: Object.fromEntries(SERVICES.map((s) => [`IO_KEY_${s.toUpperCase()}`, `key-${s}`])),
});

const dir = mkdtempSync(join(tmpdir(), 'ponte-bench-rate-'));
const store = openStore({ client: 'sqlite', filename: join(dir, 'store.sqlite') });
await migrateLatest(store);
const events: NewEvent[] = Array.from({ length: N }, (_, i) => {
  const options = { service: SERVICES[i % SERVICES.length]! };
  return {
    key: `rate:${i}`, type: 'bench', fiscalCode: citizen(i), data: {},
    route: { mode: 'first', steps: [{ channel: 'appio', options }] },
    deliveries: [{ channel: 'appio', options, routeIndex: 0, address: null }],
  };
});
// Small batches: SQLite caps a compound SELECT at 500 terms.
for (let i = 0; i < N; i += 200) await commitBatch(store.knex, { instanceId: 'bench', events: events.slice(i, i + 200), cancellations: [], rowErrors: [], now: Date.now() });

// Ponte's default dispatcher settings (status polls at 5 s, 30 s, ...): what a municipality gets.
const cfg = dispatcherSchema.parse({});
const dispatcher = new Dispatcher({ store, channels: new Map([['appio', channel]]), cfg, log: pino({ level: 'silent' }) });
const t0 = Date.now();
const deadline = t0 + Math.max(120_000, (N * 3.3 / 28) * 1000 * 2);
let open = N;
while (open > 0) {
  await dispatcher.drain();
  const r = await store.knex('deliveries').whereIn('state', ['pending', 'sending', 'accepted']).count({ n: '*' }).first();
  open = Number(r?.n);
  if (open > 0) {
    if (Date.now() > deadline) { console.error(`rate-fidelity: ${open} deliveries still open at the deadline`); break; }
    await new Promise((res) => setTimeout(res, 200));
  }
}
const wallMs = Date.now() - t0;
const states = Object.fromEntries((await store.knex('deliveries').select('state').count({ n: '*' }).groupBy('state')).map((r) => { const row = r as unknown as { state: string; n: number | string }; return [row.state, Number(row.n)]; }));
channel.close();
await store.close();
rmSync(dir, { recursive: true, force: true });

const reqs = sandbox.requests.filter((r) => r.owner === 'comune');
const stats = sandbox.stats().comune!;
await sandbox.close();
const limitPerSec = LIMIT.requests / (LIMIT.windowMs / 1000);
// A sliding window lets a full window's worth through at the very start, so requests over a span
// are compared with what an exact limiter allows in it: limit × (span + one window).
const rateOver = (from: number, to: number): number => reqs.filter((r) => r.status !== 429 && r.at >= from && r.at <= to).length / ((to - from + LIMIT.windowMs) / 1000);
const first = reqs[0]?.at ?? t0;
const lastSend = Math.max(...reqs.filter((r) => r.op === 'submitMessage').map((r) => r.at));
const last = reqs[reqs.length - 1]?.at ?? t0;
// While sends are backlogged, a limiter that holds each slot a window long sends in bursts of a
// window's worth, so "requests up to the last send" depends on where in its burst that send fell.
// Whole windows do not: of the requests the limit allowed in the k windows from the first request
// to the last send, how many were made.
const windows = Math.max(1, Math.floor((lastSend - first) / LIMIT.windowMs));
const usedInWindows = reqs.filter((r) => r.status !== 429 && r.at < first + windows * LIMIT.windowMs).length / (windows * LIMIT.requests);
const got429 = reqs.filter((r) => r.status === 429).length;
const processed = states.processed ?? 0;
const byOp = (op: string) => reqs.filter((r) => r.op === op).length;

const rows = [
  { measure: `requests made ÷ allowed, ${windows} whole windows while sends are backlogged`, value: round(usedInWindows), target: '≥ 0.95' },
  { measure: 'request rate up to the last send ÷ limit (edge of a burst)', value: round(rateOver(first, lastSend) / limitPerSec), target: '' },
  { measure: 'request rate over the whole run ÷ limit', value: round(rateOver(first, last) / limitPerSec), target: '(tail of status polls)' },
  { measure: 'share of requests answered 429', value: round(got429 / reqs.length, 4), target: '≤ 0.01' },
  { measure: 'IO requests per PROCESSED message', value: round(reqs.length / processed), target: '≤ 3.3' },
  { measure: 'most requests in any 5 s window', value: stats.maxInAnyWindow, target: `≤ ${LIMIT.requests}` },
  { measure: 'profile / send / status requests', value: `${byOp('getProfile')} / ${byOp('submitMessage')} / ${byOp('getMessage')}`, target: '' },
  { measure: 'messages processed / total, wall time', value: `${processed} / ${N}, ${(wallMs / 1000).toFixed(0)} s`, target: '' },
];
const title = `Rate fidelity: ${N} messages, 3 IO services of one owner, sandbox limit ${LIMIT.requests}/${LIMIT.windowMs / 1000} s (${limitPerSec}/s), SQLite store, default dispatcher settings`;
printTable(title, rows);
writeResult('rate-fidelity', title, rows, { messages: N, states, stats });
