// `ponte connector test <name>` (the acceptance suite) and `ponte connector new <name>` (scaffold).
import { pino } from 'pino';
import type { GlobalOptions } from './common.js';
import { harnessTarget } from '../connectors/harness/target.js';
import { backofficeLabel, runHarness } from '../connectors/harness/harness.js';
import { scaffoldConnector } from '../connectors/harness/scaffold.js';
import type { Dialect } from '../connectors/harness/scratch.js';

export async function connectorTestCommand(name: string, opts: GlobalOptions & { db?: string }): Promise<number> {
  const dialect = (opts.db ?? 'sqlite') as Dialect;
  if (!['sqlite', 'postgres', 'mariadb'].includes(dialect)) throw new Error(`--db must be sqlite, postgres or mariadb, not "${dialect}"`);
  const target = await harnessTarget(name);
  if (!opts.json) console.log(`Acceptance checks for connector ${name} (${target.shape}) on ${backofficeLabel(target, dialect)}:`);
  const results = await runHarness(target, {
    dialect,
    log: pino({ level: 'silent' }),
    onResult: (r) => { if (!opts.json) console.log(`  ${r.status.padEnd(4)} ${r.check} — ${r.detail}`); },
  });
  const failed = results.filter((r) => r.status === 'FAIL').length;
  if (opts.json) console.log(JSON.stringify(results, null, 2));
  else console.log(failed ? `\n${failed} check(s) FAILED` : `\nall checks passed (${results.filter((r) => r.status === 'N/A').length} not applicable to this shape)`);
  return failed ? 1 : 0;
}

export async function connectorNewCommand(name: string, opts: { sql?: boolean; csv?: boolean; http?: boolean; ts?: boolean; shape?: string }): Promise<number> {
  if ([opts.sql, opts.csv, opts.http, opts.ts].filter(Boolean).length > 1) throw new Error('choose one of --sql, --csv, --http and --ts');
  const kind = opts.ts ? 'ts' : opts.csv ? 'csv' : opts.http ? 'http' : 'sql';
  const shape = opts.shape === 'incremental' ? 'incremental' : 'window';
  const files = scaffoldConnector(name, { kind, shape });
  console.log(`created connectors/${name}/ (${kind === 'ts' ? 'TypeScript' : kind === 'csv' ? 'declarative, CSV file' : kind === 'http' ? 'declarative, HTTP JSON listing' : 'declarative'}, ${shape}):`);
  for (const f of files) console.log(`  ${f}`);
  console.log(`\nNext: edit the files to match your ${kind === 'csv' ? 'export' : kind === 'http' ? 'API (url, authEnv, itemsPath, paging, field names)' : 'table'}, then \`npx ponte connector test ${name}\`; enable it in config/ponte.yaml with \`use: ${name}\`.`);
  return 0;
}
