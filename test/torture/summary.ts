// The summary table of one or more torture runs (one column per database).
import { KILL_KINDS } from './kill-plan.js';
import type { TortureReport } from './driver.js';

export function passed(r: TortureReport): boolean {
  return r.verdict.violations.length === 0 && r.problems.length === 0;
}

export function formatSummary(reports: TortureReport[]): string {
  const kills = (r: TortureReport) => r.lives.filter((l) => l.kind !== 'final');
  const rows: Array<[string, (r: TortureReport) => string | number]> = [
    ['seed', (r) => r.seed],
    ['events (back-office rows)', (r) => r.events],
    ['kills (SIGKILL)', (r) => kills(r).length],
    ...KILL_KINDS.map((k): [string, (r: TortureReport) => string] => [`  ${k}`, (r) => {
      const of = kills(r).filter((l) => l.kind === k);
      const missed = of.filter((l) => !l.reached).length;
      return missed ? `${of.length} (${missed} not reached)` : String(of.length);
    }]),
    ['in flight at a kill (sending)', (r) => r.verdict.inFlightAtKills],
    ['  not yet sent: sent once later', (r) => r.verdict.inFlightSentAgain],
    ['messages at the sandbox', (r) => r.verdict.messages],
    ['citizens reached', (r) => `${r.verdict.reached}/${r.verdict.expected}`],
    ['duplicates (2+ copies)', (r) => r.verdict.duplicates],
    ['processed', (r) => r.verdict.processed],
    ['uncertain (held)', (r) => r.verdict.uncertain],
    ['  message at IO', (r) => r.verdict.uncertainAtIo],
    ['  never reached IO', (r) => r.verdict.uncertainNotAtIo],
    ['lost', (r) => r.verdict.lost],
    ['duration', (r) => `${Math.round(r.durationMs / 1000)} s`],
    ['verdict', (r) => (passed(r) ? 'PASS' : 'FAIL')],
  ];
  const head = ['Crash torture', ...reports.map((r) => r.dialect)];
  const table = [head, ...rows.map(([label, f]) => [label, ...reports.map((r) => String(f(r)))])];
  const widths = head.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
  const line = (row: string[]) => row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('   ');
  const out = [line(table[0]!), widths.map((w) => '-'.repeat(w)).join('   '), ...table.slice(1).map(line)];
  for (const r of reports) {
    for (const p of r.problems) out.push(`${r.dialect}: ${p}`);
    for (const v of r.verdict.violations) out.push(`${r.dialect}: ${v}`);
    for (const l of r.lives) if (l.note) out.push(`${r.dialect}: kill ${l.index} (${l.kind}) not reached: ${l.note}`);
  }
  return out.join('\n');
}
