// `npm run test:torture`: the long crash torture (50 kills over 10,000 events by default) on
// SQLite and, when reachable, PostgreSQL; prints the summary table; exits 1 on any violation.
//   npm run test:torture -- --events 2000 --kills 20 --seed 7 --db sqlite [--send-ahead 8]
import { parseArgs } from 'node:util';
import { availableDialects } from '../helpers/databases.js';
import { runTorture, type TortureReport } from './driver.js';
import { formatSummary, passed } from './summary.js';
import { buildDist } from '../helpers/ponte-command.js';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '10000' },
    kills: { type: 'string', default: '50' },
    seed: { type: 'string', default: '1' },
    db: { type: 'string', default: 'sqlite,postgres' },
    concurrency: { type: 'string', default: '16' },
    'send-ahead': { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});

const number = (name: string, v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name}: expected a whole number, got "${v}"`);
  return n;
};

const wanted = values.db.split(',').map((s) => s.trim());
for (const d of wanted) if (d !== 'sqlite' && d !== 'postgres') throw new Error(`--db: "${d}" is not sqlite or postgres`);
buildDist(); // the torture kills the compiled CLI: built from the sources as they are now
const { run, skipped } = await availableDialects(wanted as Array<'sqlite' | 'postgres'>);
for (const s of skipped) console.log(`skipped: ${s}`);

const reports: TortureReport[] = [];
for (const dialect of run as Array<'sqlite' | 'postgres'>) {
  const events = number('events', values.events);
  const kills = number('kills', values.kills);
  console.log(`\n${dialect}: ${kills} kills over ${events} events (seed ${values.seed})`);
  reports.push(await runTorture({
    dialect, events, kills, seed: number('seed', values.seed), concurrency: number('concurrency', values.concurrency),
    ...(values['send-ahead'] !== undefined ? { sendAhead: number('send-ahead', values['send-ahead']) } : {}),
    finalTimeoutMs: 600_000, keep: values.keep, log: (l) => console.log(l),
  }));
}
console.log(`\n${formatSummary(reports)}`);
if (values.keep) for (const r of reports) console.log(`${r.dialect}: scratch folder kept at ${r.workdir}`);
process.exitCode = reports.every(passed) ? 0 : 1;
