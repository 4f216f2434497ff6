// `ponte status [--json]`: what went out, what is waiting, what needs a person.
import { daysOption, type GlobalOptions } from './common.js';
import { OPERATOR_HALT } from '../store/channel-alerts.js';
import { migrateSaying, withStore } from './store-only.js';
import { statusReport, type StatusReport } from '../store/status.js';
import { DELIVERY_STATES } from '../store/states.js';
import { maskDeep, maskText } from '../util/mask.js';
import { localStamp } from '../util/local-stamp.js';

export async function statusCommand(opts: GlobalOptions & { days?: string }): Promise<number> {
  const days = daysOption(opts.days);
  return withStore(opts, async (store, config) => {
    if (!(await store.knex.schema.hasTable('deliveries'))) {
      // Name the store: on PostgreSQL "npm start" (the SQLite demo) would not create this one.
      const msg = `no Ponte store yet in ${store.where ?? store.dialect}: \`npx ponte migrate\` creates it (so does \`npx ponte run\`; \`npm start\` fills the demo's SQLite store)`;
      if (opts.json) console.log(JSON.stringify({ error: msg }));
      else console.error(msg);
      return 1;
    }
    await migrateSaying(store); // a store written by an older Ponte
    // Which store: with $DATABASE_URL unset, the default SQLite file is read, which is easy to miss.
    const report = { store: store.where ?? store.dialect, ...(await statusReport(store.knex, Date.now(), days)) };
    // Masked like the text: reasons and keys can quote a fiscal code or a number.
    if (opts.json) console.log(JSON.stringify(maskDeep(report), null, 2));
    else console.log(formatStatus(report, config.timeZone));
    return 0;
  }, false);
}

/** Gone processes shown by the text output (the latest started); --json has them all. */
const GONE_SHOWN = 3;

/** The report for a person: instants on the municipality's clock (the JSON keeps them in UTC). */
export function formatStatus(r: StatusReport & { store?: string }, zone = 'Europe/Rome'): string {
  const at = (iso: string | null | undefined) => localStamp(iso, zone);
  const out: string[] = [`Ponte status at ${at(r.generatedAt)}`, ...(r.store ? [`Store: ${r.store}`] : []), ''];
  for (const a of r.alerts) {
    const { channel, part } = a;
    const what = part ? `CHANNEL ${channel.toUpperCase()}: ${part.toUpperCase()} ONLY,` : `CHANNEL ${channel.toUpperCase()}`;
    out.push(`!!! ${what} HALTED since ${at(a.since)}${a.code ? ` (${a.code})` : ''}: ${maskText(a.reason)}`);
    const whose = part ? `Its deliveries through ${part} stay pending (the rest of ${channel} goes on)` : 'Its deliveries stay pending';
    // An operator's halt (`ponte channel halt`) has no cause to fix, and a restart keeps it.
    const then = a.code === OPERATOR_HALT ? 'A restart keeps it; to send again' : 'Fix the cause, then';
    out.push(`    ${whose}. ${then}: npx ponte channel resume ${channel}`, '');
  }
  out.push(`Events in the ledger: ${r.events}`, `WhatsApp consents: ${r.consents.optedIn} opted in, ${r.consents.optedOut} opted out`);
  const { waiting, failed, stale } = r.replies;
  if (waiting + failed + stale) out.push(`Replies to citizens not sent: ${waiting} waiting for the sweep, ${failed} refused by WhatsApp, ${stale} dropped as stale (older than 15 min)`);
  out.push('');
  const channels = Object.keys(r.deliveries);
  const states = DELIVERY_STATES.filter((s) => r.totals[s]);
  if (channels.length === 0) out.push('Deliveries: none yet');
  else {
    // Each column as wide as its channel's name or its largest count, with two spaces between:
    // names longer than a fixed width ran into each other ("appiowhatsapp").
    const width = Math.max(...states.map((s) => s.length), 'Deliveries'.length - 2);
    const cells = channels.map((c) => states.map((s) => String(r.deliveries[c]![s] ?? 0)));
    const cols = channels.map((c, i) => Math.max(c.length, ...cells[i]!.map((v) => v.length)) + 2);
    out.push('Deliveries'.padEnd(width + 2) + channels.map((c, i) => c.padStart(cols[i]!)).join(''));
    states.forEach((s, j) => out.push(`  ${s.padEnd(width)}${cells.map((col, i) => col[j]!.padStart(cols[i]!)).join('')}`));
  }
  if (r.oldestDueSeconds != null) out.push('', `Oldest due delivery waiting: ${r.oldestDueSeconds} s`);
  out.push('', ...formatUnsent(r.unsent, at));
  out.push('', 'Connectors');
  if (r.connectors.length === 0) out.push('  none has run yet');
  for (const c of r.connectors) {
    const last = c.lastRun ? `new ${c.lastRun.eventsNew}, already known ${c.lastRun.duplicates}, cancelled ${c.lastRun.cancelled}, row errors ${c.lastRun.rowErrors}` : '';
    out.push(`  ${c.id}: last run ${c.lastRunAt ? at(c.lastRunAt) : 'never'} ${c.lastRunStatus ?? ''}${last ? ` (${last})` : ''}`);
    if (c.lastRunError) out.push(`    error: ${c.lastRunError}`);
    if (c.leaseHeldBy) {
      const holder = r.processes.find((p) => p.owner === c.leaseHeldBy);
      // A killed process keeps its lease until it runs out: say until when, so nobody restarts things early.
      out.push(holder && !holder.alive
        ? `    lease held by ${c.leaseHeldBy}, which stopped heartbeating at ${at(holder.lastHeartbeat)}: another process takes the connector over after ${at(c.leaseUntil)}`
        : `    polling now on ${c.leaseHeldBy}${c.leaseSince ? ` since ${at(c.leaseSince)}` : ''} (lease until ${at(c.leaseUntil)})`);
    }
  }
  const procs = r.processes;
  out.push('', 'Processes (`ponte run`) on this store');
  if (procs.length === 0) out.push('  none in the last hour');
  // Every alive one, and the latest gone ones: each restart leaves a gone row for an hour.
  const gone = procs.filter((p) => !p.alive);
  for (const p of [...procs.filter((x) => x.alive), ...gone.slice(0, GONE_SHOWN)]) {
    const state = p.alive ? 'alive' : `gone (no heartbeat since ${at(p.lastHeartbeat)}: stopped or killed)`;
    out.push(`  ${p.owner}  ${state}, started ${at(p.startedAt)}${p.polling.length ? `, polling ${p.polling.join(', ')}` : ''}`);
  }
  if (gone.length > GONE_SHOWN) out.push(`  … and ${gone.length - GONE_SHOWN} more gone in the last hour (ponte status --json lists them)`);
  if (r.rowErrors.length) {
    out.push('', 'Back-office rows skipped (fix them at the source: a window connector reads them again every poll, an incremental one when the row changes)');
    for (const e of r.rowErrors) out.push(`  ${e.connector} row ${e.rowKey}${e.field ? ` [${e.field}]` : ''}: ${maskText(e.message)} (seen ${e.seen}×)`);
  }
  if (r.fallbacks.length) {
    out.push('', 'Routing decisions (latest)');
    for (const f of r.fallbacks) out.push(`  #${f.delivery} ${f.channel} ${f.state}: ${maskText(f.reason)}  (${maskText(f.event)})`);
  }
  if (r.attention.length) {
    out.push('', 'Needs attention');
    // The latest 50 changed (the query's order), shown by state then delivery, so each kind reads as one list.
    const rank = (st: string) => DELIVERY_STATES.indexOf(st as (typeof DELIVERY_STATES)[number]);
    const attention = [...r.attention].sort((x, y) => rank(x.state) - rank(y.state) || x.delivery - y.delivery);
    for (const a of attention) out.push(`  #${a.delivery} ${a.channel} ${a.state}: ${maskText(a.reason ?? a.lastError ?? '')}  (${maskText(a.event)})`);
    // What an operator does next: an uncertain send is never resent by itself, so someone must decide.
    if (attention.some((a) => a.state === 'uncertain')) {
      out.push('  uncertain: the send may have reached the provider; never resent by itself. Ask the provider (or the citizen), then:',
        '    npx ponte delivery confirm <id> --provider-id <message id>   (it arrived)',
        '    npx ponte delivery resend <id> --note "…"                    (it did not)',
        '    npx ponte delivery cancel <id>                               (leave it)');
    }
  }
  return out.join('\n');
}

/** Why deliveries did not go out lately: per channel and state, the top reasons with their counts. */
function formatUnsent(u: StatusReport['unsent'], at: (iso: string) => string): string[] {
  const head = `Why they did not go out (rejected, failed, dead; ended in the last ${u.days} days, since ${at(u.since)})`;
  if (u.groups.length === 0) return [head, '  none'];
  const width = Math.max(...u.groups.flatMap((g) => g.reasons.map((x) => String(x.count).length)));
  const out = [head];
  for (const g of u.groups) {
    out.push(`  ${g.channel} ${g.state}: ${g.total}   (each one: ${g.see})`);
    for (const x of g.reasons) out.push(`    ${String(x.count).padStart(width)}  ${maskText(x.reason)}`);
    if (g.others.reasons) out.push(`    ${'…'.padStart(width)}  ${g.others.reasons} other reason${g.others.reasons === 1 ? '' : 's'}: ${g.others.deliveries} deliver${g.others.deliveries === 1 ? 'y' : 'ies'}`);
  }
  return out;
}
