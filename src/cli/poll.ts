// `ponte poll <connector> [--dry-run]`
import type { GlobalOptions } from './common.js';
import { withApp, cliLogger, UsageError } from './common.js';
import { runConnector } from '../connectors/runner.js';
import { dryRun, type DryRunReport } from '../connectors/dry-run.js';
import { maskDeep, WHOLE_DOCUMENT_DEPTH } from '../util/mask.js';
import { configFile, loadConfig } from '../config/load.js';
import { existsSync } from 'node:fs';
import { progressPrinter } from '../connectors/progress.js';
import { useStoreRefKey } from '../store/store-meta.js';
import { localStamp } from '../util/local-stamp.js';

export interface PollOptions extends GlobalOptions {
  dryRun?: boolean;
  reveal?: boolean;
}

export async function pollCommand(id: string, opts: PollOptions): Promise<number> {
  const file = configFile(opts.config);
  const config = loadConfig(file);
  // A wrong id is the argument's mistake, not the config's: the config is fine.
  if (!config.connectors.some((c) => c.id === id)) {
    throw new UsageError(`no connector "${id}" in ${file} (its connectors: ${config.connectors.map((c) => c.id).join(', ') || 'none'})`);
  }
  if (opts.dryRun) {
    // Dry-run never creates or migrates a store; it reads an existing SQLite one if there is one.
    const hasStore = config.store.client !== 'sqlite' || existsSync(config.store.filename) || Boolean(process.env[config.store.urlEnv]);
    return withApp(opts, { only: [id], migrate: false, config, sends: false, log: cliLogger({ ...opts, logLevel: opts.logLevel ?? 'warn' }) }, async (app) => {
      // An existing store keys the refs as the daemon does; without one they stay per-process.
      if (hasStore) await useStoreRefKey(app.store.knex);
      let report: DryRunReport;
      try {
        report = await dryRun(app.instances[0]!, { ...(hasStore ? { knex: app.store.knex } : {}), channels: app.channels, log: app.log });
      } catch (e) {
        // A poll's failure (a back-office variable not set, a broken query) comes from code that
        // knows the source, not the instance: name the instance and the file that declares it.
        throw new Error(`connector ${id} (${file}): ${e instanceof Error ? e.message : String(e)}`, { cause: e });
      }
      // The dry run promises the exact requests: the logs' depth limit would cut a WhatsApp
      // template's parameters (11 levels down) to "[Too deep]".
      const shown = opts.reveal ? report : maskDeep(report, { maxDepth: WHOLE_DOCUMENT_DEPTH });
      if (opts.json) console.log(JSON.stringify(shown, null, 2));
      else printDryRun(shown, Boolean(opts.reveal), config.timeZone);
      return 0;
    });
  }
  // A poll stores events and sends nothing: it runs without the channels' secrets.
  return withApp(opts, { only: [id], sends: false, config }, async (app) => {
    // Ctrl-C stops after the batch being committed (the next poll resumes from its cursor); a
    // second Ctrl-C exits at once, which is safe too: an uncommitted batch leaves nothing behind.
    const stop = new AbortController();
    const onSigint = () => {
      if (stop.signal.aborted) process.exit(130);
      stop.abort();
      process.stderr.write('\nstopping after the current batch is committed (Ctrl-C again to quit now)\n');
    };
    process.on('SIGINT', onSigint);
    let report;
    try {
      report = await runConnector(app.instances[0]!, {
        store: app.store, channels: app.channels, log: app.log, owner: app.owner,
        onProgress: progressPrinter({ stream: process.stderr, log: app.log }),
        stop: stop.signal,
      });
    } finally {
      process.off('SIGINT', onSigint);
    }
    if (opts.json) console.log(JSON.stringify(report, null, 2));
    else if (report.status === 'busy') process.stderr.write(`connector ${report.instanceId} is being polled by ${report.heldBy ?? 'another process'}${report.heldUntil ? ` (its lease runs until ${localStamp(report.heldUntil, app.config.timeZone)}; a holder that died keeps it until then)` : ''}: nothing polled\n`);
    if (report.interrupted) return 130;
    return report.status === 'ok' ? 0 : report.status === 'busy' ? 3 : 1;
  });
}

function printDryRun(r: DryRunReport, revealed: boolean, zone: string): void {
  const out: string[] = [];
  const known = r.events.filter((e) => e.alreadyInLedger).length;
  out.push(`Dry run of ${r.connector}: ${r.events.length} event(s)${known ? ` (${known} already in the ledger: a poll would not send them again)` : ''}, ${r.cancellations.length} cancellation(s), ${r.rowErrors.length} row error(s). Nothing was stored or sent.`);
  if (!revealed) out.push('(fiscal codes and phone numbers masked; --reveal shows them)');
  for (const e of r.events) {
    out.push('', `● ${e.key}  [${e.type}]${e.alreadyInLedger ? '  — already in the ledger: not sent again' : ''}`);
    out.push(`  send from ${e.notBefore ? localStamp(e.notBefore, zone) : 'now'}${e.expiresAt ? `, not after ${localStamp(e.expiresAt, zone)}` : ''}`);
    for (const s of e.sends) {
      if (s.error) { out.push(`  ${s.channel} (${s.routing}): cannot send: ${s.error}`); continue; }
      const q = s.request!;
      out.push(`  ${s.channel} (${s.routing}): ${q.method} ${q.url}`);
      if (s.notEligible) out.push(`    (as things stand it would be skipped: ${s.notEligible}; checked again when it is due)`);
      for (const [k, v] of Object.entries(q.headers)) out.push(`    ${k}: ${v}`);
      out.push(JSON.stringify(q.body, null, 2).split('\n').map((l) => `    ${l}`).join('\n'));
    }
  }
  for (const c of r.cancellations) out.push('', `✕ cancel pending sends of ${c.entity}: ${c.reason}`);
  for (const e of r.rowErrors) out.push('', `! row ${e.rowKey}${e.field ? ` field ${e.field}` : ''}: ${e.message}`);
  console.log(out.join('\n'));
}
