// Shared by the benchmarks: the machine's description, a printed table, and the JSON result file
// (bench/results/<name>-<date>.json) that bench/index.ts turns into bench/results/latest.md.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, loadavg } from 'node:os';

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

/** Writes bench/results/<name>-<date>.json; `title` and `rows` are what latest.md shows. */
export function writeResult(name: string, title: string, rows: Row[], extra: Record<string, unknown> = {}): string {
  mkdirSync('bench/results', { recursive: true });
  const file = `bench/results/${name}-${new Date().toISOString().slice(0, 10)}.json`;
  writeFileSync(file, JSON.stringify({ title, machine: machine(), at: new Date().toISOString(), ...extra, rows }, null, 2));
  console.log(`written to ${file}`);
  return file;
}

/** Rounds to n decimals (for ratios). */
export const round = (x: number, n = 3): number => Number(x.toFixed(n));
