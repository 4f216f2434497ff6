// Latency (issue 6 §9): back-office insert → POST /messages at the IO sandbox, through the real
// `ponte run` process polling its connector every 5 s. Rows are inserted one by one at random
// moments; the sandbox (in this process) records when each citizen's POST arrives.
// Target: p99 ≤ poll interval + 1 s.
//   tsx bench/latency.ts           (~60 s of inserts, 60 rows; BENCH_QUICK=1: ~20 s, 20 rows)
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { startIoSandbox } from '../src/sandbox/io/index.js';
import { Backoffice, IO_KEY_ENV, makeWorkdir, tortureFiscalCode } from '../test/torture/setup.js';
import { ponteCommand } from './scripts.js';
import { printTable, round, writeResult } from './report.js';

const QUICK = Boolean(process.env.BENCH_QUICK);
const DURATION_MS = QUICK ? 20_000 : 60_000;
const ROWS = QUICK ? 20 : 60;
const POLL_SECONDS = 5;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const sandbox = await startIoSandbox();
// The crash torture's scratch world (config derived from config/ponte.yaml, a declarative
// connector on a SQLite back-office), polled every 5 s instead.
const w = makeWorkdir({ ioUrl: sandbox.url, pageSize: 500, pollEverySeconds: POLL_SECONDS, concurrency: 8, batchSize: 20 });
const backoffice = new Backoffice(w.backofficeFile);
await backoffice.create();
// WAL: the daemon reads while this process inserts.
await backoffice.knex.raw('pragma journal_mode = WAL');

const env: NodeJS.ProcessEnv = { ...process.env, PONTE_LOG_FORMAT: 'json', PONTE_LOG_LEVEL: 'info', [IO_KEY_ENV]: 'bench-key' };
for (const v of ['PONTE_CRASH_AT', 'PONTE_CRASH_AFTER', 'PONTE_CONFIG']) delete env[v];
const child = spawn(process.execPath, ponteCommand(['--config', w.configFile, 'run']), {
  cwd: w.dir,
  env,
  stdio: ['ignore', 'pipe', 'pipe'],
});
let out = '';
let pollsFinished = 0;
child.stdout.on('data', (d: Buffer) => {
  const s = d.toString();
  out = (out + s).slice(-20_000);
  pollsFinished += s.split('"msg":"poll finished"').length - 1;
});
child.stderr.on('data', (d: Buffer) => { out = (out + d.toString()).slice(-20_000); });
const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));

const inserted = new Map<string, number>();
let failure: string | undefined;
try {
  // Start measuring once the daemon has booted and polled (boot time is not latency).
  const bootDeadline = Date.now() + 60_000;
  while (pollsFinished === 0) {
    if (Date.now() > bootDeadline || child.exitCode !== null) throw new Error(`ponte run did not complete a first poll:\n${out.slice(-3000)}`);
    await sleep(100);
  }
  const t0 = Date.now();
  const moments = Array.from({ length: ROWS }, () => Math.random() * DURATION_MS).sort((a, b) => a - b);
  for (const m of moments) {
    await sleep(Math.max(0, t0 + m - Date.now()));
    await backoffice.add(1);
    inserted.set(tortureFiscalCode(backoffice.rows), Date.now());
  }
  const deadline = Date.now() + (POLL_SECONDS + 30) * 1000;
  const posted = () => new Set(sandbox.requests.filter((r) => r.op === 'submitMessage').map((r) => (r.body as { fiscal_code?: string }).fiscal_code));
  while ([...inserted.keys()].some((fc) => !posted().has(fc)) && Date.now() < deadline) await sleep(200);
} catch (e) {
  failure = (e as Error).message;
} finally {
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 25_000);
  await exited;
  clearTimeout(timer);
  await backoffice.close();
  await sandbox.close();
  rmSync(w.dir, { recursive: true, force: true });
}
if (failure) {
  console.error(failure);
  process.exit(1);
}

// The first POST per citizen (retries would be later copies).
const firstPost = new Map<string, number>();
for (const r of sandbox.requests) {
  const fc = (r.body as { fiscal_code?: string } | undefined)?.fiscal_code;
  if (r.op === 'submitMessage' && fc && !firstPost.has(fc)) firstPost.set(fc, r.at);
}
const latencies = [...inserted].filter(([fc]) => firstPost.has(fc)).map(([fc, at]) => firstPost.get(fc)! - at).sort((a, b) => a - b);
const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.ceil((p / 100) * latencies.length) - 1)] ?? NaN;
const budget = (POLL_SECONDS + 1) * 1000;
const rows = [
  { measure: 'rows inserted / POSTed', value: `${inserted.size} / ${latencies.length}`, target: 'all' },
  { measure: 'p50 insert → POST (s)', value: round(pct(50) / 1000, 2), target: '' },
  { measure: 'p99 insert → POST (s)', value: round(pct(99) / 1000, 2), target: '' },
  { measure: 'max insert → POST (s)', value: round((latencies[latencies.length - 1] ?? NaN) / 1000, 2), target: '' },
  { measure: `p99 ÷ (poll interval ${POLL_SECONDS} s + 1 s)`, value: round(pct(99) / budget), target: '≤ 1' },
];
const title = `Latency: back-office insert → POST at the IO sandbox, real \`ponte run\`, connector polled every ${POLL_SECONDS} s, ${ROWS} rows at random moments over ${DURATION_MS / 1000} s (SQLite store and back-office)`;
printTable(title, rows);
writeResult('latency', title, rows, { latenciesMs: latencies });
