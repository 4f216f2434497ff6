// Shared by the benchmarks: the machine's description, a printed table, and the JSON result file
// (bench/results/<name>-<date>-<hhmm>.json) that bench/index.ts turns into bench/results/latest.md.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, loadavg } from 'node:os';
import { join } from 'node:path';
import { PONTE_ROOT } from '../src/util/ponte-root.js';

export type Row = Record<string, string | number>;

export function machine(): Record<string, string | number> {
  return {
    cores: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    memGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    // A shared machine makes figures noisy: the load at the end of the run says how much.
    loadavg1m: Number(loadavg()[0]!.toFixed(2)),
  };
}

/** Prints rows as an aligned text table under a title. */
export function printTable(title: string, rows: Row[]): void {
  console.log(`\n${title}`);
  if (rows.length === 0) return void console.log('(no rows)');
  const cols = Object.keys(rows[0]!);
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c] ?? '').length)));
  console.log(cols.map((c, i) => c.padEnd(width[i]!)).join('  '));
  for (const r of rows) console.log(cols.map((c, i) => String(r[c] ?? '').padStart(width[i]!)).join('  '));
}

/**
 * Where results go: bench/results/, or with BENCH_QUICK its quick/ folder (not committed), so a
 * quick check of the benches never overwrites the day's full figures or latest.md.
 */
export const RESULTS_DIR = join(PONTE_ROOT, process.env.BENCH_QUICK ? 'bench/results/quick' : 'bench/results');

/**
 * Writes <dir>/<name>-<date>-<hhmm>.json (UTC; a second run the same day keeps the first's
 * figures); `title` and `rows` are what latest.md shows. Its `at` is the instant of the file's name.
 */
export function writeResult(name: string, title: string, rows: Row[], extra: Record<string, unknown> = {}, dir = RESULTS_DIR, now = new Date()): string {
  mkdirSync(dir, { recursive: true });
  const stamp = now.toISOString();
  const file = join(dir, `${name}-${stamp.slice(0, 10)}-${stamp.slice(11, 13)}${stamp.slice(14, 16)}.json`);
  writeFileSync(file, JSON.stringify({ title, machine: machine(), at: stamp, ...extra, rows }, null, 2));
  console.log(`written to ${file}`);
  return file;
}

/** A result file's content, as writeResult() wrote it (or an older bench, without `title` or `at`). */
export interface Result { title?: string; machine?: Record<string, unknown>; at?: string; rows: Row[]; [k: string]: unknown }

/**
 * The newest result of `name` in `dir` written at or after `since` (ms), judged by the time the
 * bench wrote into it (`at`, else the date in its file name): a fresh clone gives every file the
 * same mtime, which once let an older day's result stand in latest.md for the newest one. Files
 * named before the time of day was added (<name>-<date>.json) still count.
 */
export function newestResult(dir: string, name: string, since: number): Result | undefined {
  if (!existsSync(dir)) return undefined;
  const pattern = new RegExp(`^${name}-(\\d{4}-\\d{2}-\\d{2})(?:-\\d{4})?\\.json$`);
  let newest: { at: number; result: Result } | undefined;
  for (const f of readdirSync(dir)) {
    const m = pattern.exec(f);
    if (!m) continue;
    const result = JSON.parse(readFileSync(join(dir, f), 'utf8')) as Result;
    const at = typeof result.at === 'string' ? Date.parse(result.at) : Date.parse(m[1]!);
    if (at >= since && (!newest || at > newest.at)) newest = { at, result };
  }
  return newest?.result;
}

/** Rounds to n decimals (for ratios). */
export const round = (x: number, n = 3): number => Number(x.toFixed(n));

/** Which of `values` is the median (the lower of the middle two for an even count); NaN, a failed round, counts as the highest. */
export function medianIndex(values: readonly number[]): number {
  const order = values.map((v, i) => ({ v: Number.isNaN(v) ? Infinity : v, i })).sort((a, b) => a.v - b.v);
  return order[Math.floor((values.length - 1) / 2)]!.i;
}

/**
 * CPU spent between start and stop, per message: this process's and the PostgreSQL server's (all
 * its processes, from /proc: Linux only, else NaN). Throughput on a shared 2-core machine swings
 * with the host; CPU per message is the engine's own cost and far steadier.
 */
export function cpuMeter(): { stop(messages: number): { nodeUs: number; pgUs: number } } {
  const node0 = process.cpuUsage();
  const pg0 = postgresCpuMs();
  return {
    stop(messages) {
      const node = process.cpuUsage(node0);
      return { nodeUs: Math.round((node.user + node.system) / messages), pgUs: Math.round(((postgresCpuMs() - pg0) * 1000) / messages) };
    },
  };
}

function postgresCpuMs(): number {
  if (process.platform !== 'linux') return NaN;
  const tick = 10; // ms per clock tick (USER_HZ is 100 on Linux)
  let ticks = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (!stat.includes('(postgres)')) continue;
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // utime, stime, and cutime, cstime: a backend that exits meanwhile is reaped by the postmaster,
      // whose children's times then hold its CPU (else the sum would drop by it).
      ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    } catch {
      // the process ended meanwhile
    }
  }
  return ticks * tick;
}
