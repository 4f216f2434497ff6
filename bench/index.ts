// `npm run bench`: every benchmark in sequence, each in its own process (dist/bench/<name>.js, so
// one's heap, sockets and JIT state never colour another's figures), each printing its table;
// then bench/results/latest.md, one markdown table per benchmark with the machine's description,
// for the README's Performance section.
//   npm run bench                          all of them (full sizes: tens of minutes)
//   BENCH_QUICK=1 npm run bench            small sizes, to check that they work (results in bench/results/quick/)
//   BENCH_ONLY=pgboss,latency npm run bench     (the others keep their last result in latest.md)
//   BENCH_ONLY= npm run bench              none: only rewrite latest.md from the stored results
//   BENCH_TIMEOUT_MIN=n     stop a bench still running after n minutes (default 60; quick 10)
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PONTE_ROOT as ROOT } from '../src/util/ponte-root.js';
import { machine, newestResult, RESULTS_DIR as RESULTS, type Result, type Row } from './report.js';
import { scriptArgv } from './scripts.js';

const QUICK = Boolean(process.env.BENCH_QUICK);
// In the order they run; a bench whose file is not there (yet) is skipped with a note.
const ALL = ['dispatch', 'pgboss', 'price', 'claim', 'status-reasons', 'ingest', 'rate-fidelity', 'latency'];
/** Quick sizes for benches that predate BENCH_QUICK. */
const QUICK_ENV: Record<string, NodeJS.ProcessEnv> = { dispatch: { BENCH_MESSAGES: '2000' } };

const only = process.env.BENCH_ONLY?.split(',').map((s) => s.trim()).filter(Boolean);
for (const name of only ?? []) {
  if (!ALL.includes(name)) {
    console.error(`BENCH_ONLY: unknown benchmark "${name}" (known: ${ALL.join(', ')})`);
    process.exit(2);
  }
}
const selected = ALL.filter((n) => !only || only.includes(n));

/** A bench that has not exited by then is stopped and counted as failed (e.g. one left hanging on an open socket). */
const TIMEOUT_MS = Number(process.env.BENCH_TIMEOUT_MIN ?? (QUICK ? 10 : 60)) * 60_000;

function run(name: string): Promise<number | null> {
  const env = { ...process.env, ...(QUICK ? QUICK_ENV[name] : {}) };
  const child = spawn(process.execPath, scriptArgv(name), { cwd: ROOT, env, stdio: 'inherit' });
  const timer = setTimeout(() => {
    console.error(`== ${name}: still running after ${TIMEOUT_MS / 60_000} min (BENCH_TIMEOUT_MIN), stopped`);
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 5000).unref();
  }, TIMEOUT_MS);
  return new Promise((r) => child.on('exit', (code) => { clearTimeout(timer); r(code); }));
}

function markdownTable(rows: Row[]): string {
  if (rows.length === 0) return '(no rows)';
  const cols = Object.keys(rows[0]!);
  const cell = (v: unknown) => String(v ?? '').replace(/\|/g, '\\|');
  return [
    `| ${cols.join(' | ')} |`,
    `| ${cols.map((c) => (typeof rows[0]![c] === 'number' ? '---:' : '---')).join(' | ')} |`,
    ...rows.map((r) => `| ${cols.map((c) => cell(r[c])).join(' | ')} |`),
  ].join('\n');
}

function describe(m: Record<string, unknown> | undefined): string {
  if (!m) return '';
  return `${m.cores} cores (${m.cpu}), ${m.memGiB} GiB, Node ${m.node}${m.loadavg1m !== undefined ? `, load ${m.loadavg1m} at the end` : ''}`;
}

function section(result: Result, note: string): string {
  // bench/dispatch.ts writes no title: say what it measured.
  const title = result.title ?? `Dispatch: ${result.messages} messages, concurrency ${result.concurrency}, Ponte's dispatcher ÷ a bare axios keep-alive loop (the fake endpoint in a process of its own; median of ${String(result.rounds ?? 1)} rounds)`;
  return `### ${title}\n\n${markdownTable(result.rows)}\n\n_${describe(result.machine)}; ${note}._`;
}

const sections = new Map<string, string>();
const failed: string[] = [];
// Benches not selected this time keep their newest earlier result in latest.md, marked as such.
for (const name of ALL.filter((n) => !selected.includes(n))) {
  const earlier = newestResult(RESULTS, name, 0);
  if (earlier) sections.set(name, section(earlier, `from an earlier run${typeof earlier.at === 'string' ? ` (${earlier.at.slice(0, 16)}Z)` : ''}`));
}
for (const name of selected) {
  if (!existsSync(join(ROOT, `bench/${name}.ts`))) {
    console.log(`\n== ${name}: bench/${name}.ts does not exist, skipped`);
    continue;
  }
  console.log(`\n== ${name}${QUICK ? ' (quick)' : ''}`);
  const since = Date.now() - 1000;
  const t0 = Date.now();
  const code = await run(name);
  const secs = ((Date.now() - t0) / 1000).toFixed(0);
  const result = newestResult(RESULTS, name, since);
  if (code !== 0 || !result) {
    failed.push(name);
    console.error(`== ${name}: FAILED (exit ${code}${result ? '' : ', no result file'})`);
    sections.set(name, `### ${name}\n\nFailed in this run (exit ${code}).`);
    continue;
  }
  sections.set(name, section(result, `${secs} s${QUICK ? ', quick sizes' : ''}`));
}

mkdirSync(RESULTS, { recursive: true });
const header = `<!-- written by \`npm run bench\`${QUICK ? ' (BENCH_QUICK=1: small sizes, not for quoting)' : ''} on ${new Date().toISOString()} -->\n` +
  `Measured on ${describe(machine())}. Every figure is a ratio against a baseline measured in the same run.`;
writeFileSync(join(RESULTS, 'latest.md'), `${header}\n\n${ALL.map((n) => sections.get(n)).filter(Boolean).join('\n\n')}\n`);
console.log(`\nwritten to ${join(RESULTS, 'latest.md')}${failed.length ? `; FAILED: ${failed.join(', ')}` : ''}`);
process.exit(failed.length ? 1 : 0);
