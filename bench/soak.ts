// Soak: does a real `ponte run` stay flat over a long run? A steady stream of back-office rows
// (the torture world: a declarative window connector, AppIO through the IO sandbox in this
// process) is polled, dispatched and status-polled, while this driver scrapes the daemon's own
// /metrics (RSS, heap, handles, fds) and the store's row counts. Rows older than --keep seconds
// are deleted from the back-office, as paid or past notices are, so each poll's work stays level:
// only the daemon's own state could then grow.
//   tsx bench/soak.ts [--minutes 10] [--rate 6] [--sample 15] [--poll 5] [--keep 120] [--pg]
// --snapshots: heap snapshots of the daemon after the first third and at the end, and what grew
// between them (each pauses the daemon for a few seconds, and leaves its RSS higher).
// --pg: the store is a scratch PostgreSQL database on 127.0.0.1:5432 (dropped at the end).
// Prints a sample per line and the growth between the first and last third (ratios, ~1 = flat).
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import knexFactory, { type Knex } from 'knex';
import { parse, stringify } from 'yaml';
import { startIoSandbox } from '../src/sandbox/io/index.js';
import { Backoffice, IO_KEY_ENV, STORE_URL_ENV, makeWorkdir } from '../test/torture/setup.js';
import { heapGrowth } from './heap-diff.js';
import { ponteCommand } from './scripts.js';
import { printTable, round, writeResult, type Row } from './report.js';

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    rate: { type: 'string', default: '6' },
    sample: { type: 'string', default: '15' },
    poll: { type: 'string', default: '5' },
    keep: { type: 'string', default: '120' },
    pg: { type: 'boolean', default: false },
    write: { type: 'boolean', default: false },
    snapshots: { type: 'boolean', default: false },
  },
});
const MINUTES = Number(args.minutes);
const RATE = Number(args.rate);
const SAMPLE_S = Number(args.sample);
const POLL_S = Number(args.poll);
const KEEP_S = Number(args.keep);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Scratch PostgreSQL database, named for this process so concurrent runs never meet.
const PG_ADMIN = 'postgres://postgres@127.0.0.1:5432/test';
const pgDb = `ponte_soak_${process.pid}`;
if (args.pg) {
  const admin = knexFactory({ client: 'pg', connection: PG_ADMIN });
  await admin.raw(`create database ${pgDb}`);
  await admin.destroy();
}

const sandbox = await startIoSandbox({ processingDelayMs: 300 });
const w = makeWorkdir({ ioUrl: sandbox.url, pageSize: 500, pollEverySeconds: POLL_S, concurrency: 8, batchSize: 50 });
// The product's dispatcher defaults, not the torture's fast takeovers (a 3 s lease expires under
// a slow batch on a busy machine, and claims are then "lost" to this same process).
// And IO's real budget (150 calls per 5 s per owner), which the sandbox enforces too: the client
// paces itself instead of meeting 429s. About 3 calls a message: --rate above ~8 outruns it.
const cfg = parse(readFileSync(w.configFile, 'utf8')) as { dispatcher: Record<string, unknown>; channels: { appio: { owners: unknown } } };
cfg.channels.appio.owners = { comune: { requests: 150, windowSeconds: 5 } };
for (const k of ['leaseSeconds', 'maxAttempts', 'backoff', 'statusPollSeconds']) delete cfg.dispatcher[k];
cfg.dispatcher.schedule = '*/2 * * * * *';
writeFileSync(w.configFile, stringify(cfg));
const backoffice = new Backoffice(w.backofficeFile);
await backoffice.create();
await backoffice.knex.raw('pragma journal_mode = WAL'); // the daemon reads while this process writes

const env: NodeJS.ProcessEnv = { ...process.env, PONTE_LOG_FORMAT: 'json', PONTE_LOG_LEVEL: 'info', [IO_KEY_ENV]: 'soak-key' };
for (const v of ['PONTE_CRASH_AT', 'PONTE_CRASH_AFTER', 'PONTE_CONFIG', STORE_URL_ENV]) delete env[v];
if (args.pg) env[STORE_URL_ENV] = `postgres://postgres@127.0.0.1:5432/${pgDb}`;
const child = spawn(process.execPath, [...(args.snapshots ? ['--heapsnapshot-signal=SIGUSR2'] : []), ...ponteCommand(['--config', w.configFile, 'run'])], {
  cwd: w.dir, env, stdio: ['ignore', 'pipe', 'pipe'],
});
let tail = '';
let url: string | undefined;
// Warnings and errors of the daemon's log, by message: a long run must not grow a new kind.
const logged = new Map<string, number>();
let partial = '';
child.stdout.on('data', (d: Buffer) => {
  const s = d.toString();
  tail = (tail + s).slice(-20_000);
  const lines = (partial + s).split('\n');
  partial = lines.pop()!;
  for (const line of lines) {
    if (!line.startsWith('{')) continue;
    const { level, msg, url: at } = JSON.parse(line) as { level: number; msg: string; url?: string };
    const kind = `${level} ${msg.replace(/\d+/g, 'N')}`;
    if (level >= 40) logged.set(kind, (logged.get(kind) ?? 0) + 1);
    if (!url && msg === 'HTTP server listening') url = at;
  }
});
child.stderr.on('data', (d: Buffer) => { tail = (tail + d.toString()).slice(-20_000); });
const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));

// The store, read by this driver for row counts (WAL: beside the daemon, never blocking it).
const store: Knex = args.pg
  ? knexFactory({ client: 'pg', connection: env[STORE_URL_ENV]!, pool: { min: 0, max: 1 } })
  : knexFactory({ client: 'better-sqlite3', connection: { filename: w.storeFile }, useNullAsDefault: true });

/** Values of the named series in a Prometheus text exposition, summed over their labels. */
function metric(text: string, name: string): number {
  let sum = NaN;
  for (const line of text.split('\n')) {
    if (line.startsWith(name + ' ') || line.startsWith(name + '{')) sum = (Number.isNaN(sum) ? 0 : sum) + Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}
const labelled = (text: string) => text.split('\n').filter((l) => l && !l.startsWith('#')).length;

interface Sample extends Row {
  min: number; rssMiB: number; heapMiB: number; handles: number; requests: number; fds: number;
  series: number; events: number; processed: number; accepted: number; pending: number; other: number; pgConns: number; inserted: number;
}
const samples: Sample[] = [];
const snapshots: string[] = [];
/** Has the daemon write a heap snapshot (in its folder) and waits until the file is complete. */
async function snapshot(): Promise<void> {
  const before = new Set(readdirSync(w.dir));
  child.kill('SIGUSR2');
  for (let size = -1; ;) {
    await sleep(2000);
    const file = readdirSync(w.dir).find((f) => f.endsWith('.heapsnapshot') && !before.has(f));
    if (!file) continue;
    const now = statSync(join(w.dir, file)).size;
    if (now === size && now > 0) return void snapshots.push(join(w.dir, file));
    size = now;
  }
}
let otherStates: Record<string, number> = {};
let failure: string | undefined;
try {
  const bootDeadline = Date.now() + 60_000;
  while (!url) {
    if (Date.now() > bootDeadline || child.exitCode !== null) throw new Error(`ponte run did not start its HTTP server:\n${tail.slice(-3000)}`);
    await sleep(100);
  }
  const t0 = Date.now();
  const end = t0 + MINUTES * 60_000;
  // Inserts: RATE rows each second; deletes: rows older than KEEP_S.
  const insertedAt: Array<[number, number]> = [];
  const writer = (async () => {
    for (let tick = 1; Date.now() < end; tick++) {
      await backoffice.add(RATE);
      insertedAt.push([backoffice.rows, Date.now()]);
      while (insertedAt.length && insertedAt[0]![1] < Date.now() - KEEP_S * 1000) {
        const [lastId] = insertedAt.shift()!;
        await backoffice.knex('avvisi').where('id', '<=', lastId).delete();
      }
      await sleep(Math.max(0, t0 + tick * 1000 - Date.now()));
    }
  })();
  for (let i = 0; Date.now() < end + 1; i++) {
    await sleep(Math.max(0, t0 + i * SAMPLE_S * 1000 - Date.now()));
    if (child.exitCode !== null) throw new Error(`ponte run exited (${child.exitCode}):\n${tail.slice(-3000)}`);
    const text = await (await fetch(`${url}/metrics`)).text();
    const states = new Map((await store('deliveries').select('state').count({ n: '*' }).groupBy('state')).map((r) => [(r as { state: string }).state, Number(r.n)]));
    const taken = (k: string) => { const n = states.get(k) ?? 0; states.delete(k); return n; };
    const pgConns = args.pg ? Number(((await store.raw('select count(*) as n from pg_stat_activity where datname = ?', [pgDb])) as { rows: Array<{ n: string }> }).rows[0]!.n) : NaN;
    const s: Sample = {
      min: round((Date.now() - t0) / 60_000, 1),
      rssMiB: round(metric(text, 'ponte_process_resident_memory_bytes') / 2 ** 20, 1),
      heapMiB: round(metric(text, 'ponte_nodejs_heap_size_used_bytes') / 2 ** 20, 1),
      handles: metric(text, 'ponte_nodejs_active_handles_total'),
      requests: metric(text, 'ponte_nodejs_active_requests_total'),
      fds: metric(text, 'ponte_process_open_fds'),
      series: labelled(text),
      events: Number((await store('events').count({ n: '*' }))[0]!.n),
      processed: taken('processed'),
      accepted: taken('accepted'),
      pending: taken('pending'),
      other: [...(otherStates = Object.fromEntries(states), states).values()].reduce((x, y) => x + y, 0),
      pgConns,
      inserted: backoffice.rows,
    };
    samples.push(s);
    if (args.snapshots && (Date.now() - t0 >= (end - t0) / 3) && snapshots.length === 0) await snapshot();
    if (i === 0) console.log(Object.keys(s).join('\t'));
    console.log(Object.values(s).join('\t'));
  }
  await writer;
  if (args.snapshots) {
    await snapshot();
    printTable('Heap growth between the snapshots (end of the first third → end)', heapGrowth(snapshots[0]!, snapshots[1]!));
  }
} catch (e) {
  failure = (e as Error).message;
} finally {
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 40_000);
  const code = await exited;
  clearTimeout(timer);
  if (code !== 0 && !failure) failure = `ponte run exited ${code} on SIGTERM:\n${tail.slice(-3000)}`;
  await store.destroy();
  await backoffice.close();
  await sandbox.close();
  rmSync(w.dir, { recursive: true, force: true });
  if (args.pg) {
    const admin = knexFactory({ client: 'pg', connection: PG_ADMIN });
    await admin.raw(`drop database if exists ${pgDb} with (force)`);
    await admin.destroy();
  }
}
if (failure) {
  console.error(failure);
  process.exit(1);
}

// Growth: the last third against the first, skipping the first sample (boot, JIT). Heap by its
// lowest sample in each third (the closest to what survives a GC); the others by their median.
const thirds = (xs: Sample[]) => { const n = Math.floor(xs.length / 3); return [xs.slice(1, n), xs.slice(xs.length - n)] as const; };
const median = (v: number[]) => { const s = [...v].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]!; };
const [first, last] = thirds(samples);
const ratio = (k: keyof Sample, agg: (v: number[]) => number = median) => round(agg(last.map((s) => s[k] as number)) / agg(first.map((s) => s[k] as number)), 2);
const a = samples[1] ?? samples[0]!;
const z = samples[samples.length - 1]!;
const rows: Row[] = [
  { measure: 'RSS (MiB)', start: a.rssMiB, end: z.rssMiB, 'last/first third': ratio('rssMiB') },
  { measure: 'heap used (MiB, lowest)', start: a.heapMiB, end: z.heapMiB, 'last/first third': ratio('heapMiB', (v) => Math.min(...v)) },
  { measure: 'active handles', start: a.handles, end: z.handles, 'last/first third': ratio('handles') },
  { measure: 'open fds', start: a.fds, end: z.fds, 'last/first third': ratio('fds') },
  { measure: '/metrics series', start: a.series, end: z.series, 'last/first third': ratio('series') },
  ...(args.pg ? [{ measure: 'PG connections', start: a.pgConns, end: z.pgConns, 'last/first third': ratio('pgConns') }] : []),
  { measure: 'events stored', start: a.events, end: z.events, 'last/first third': '' },
  { measure: 'deliveries processed', start: a.processed, end: z.processed, 'last/first third': '' },
  { measure: 'deliveries accepted / pending', start: `${a.accepted} / ${a.pending}`, end: `${z.accepted} / ${z.pending}`, 'last/first third': '' },
  { measure: 'deliveries in other states', start: a.other, end: z.other, 'last/first third': '' },
];
console.log(`deliveries in other states at the end: ${JSON.stringify(otherStates)}`);
for (const [m, n] of logged) console.log(`log level ${m}: ${n} times`);
const title = `Soak: real \`ponte run\` for ${MINUTES} min, ${RATE} back-office rows/s, connector polled every ${POLL_S} s, ${args.pg ? 'PostgreSQL' : 'SQLite'} store`;
printTable(title, rows);
if (args.write) writeResult(`soak${args.pg ? '-pg' : ''}`, title, rows, { samples });
