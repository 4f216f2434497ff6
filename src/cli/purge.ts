// `ponte purge [--dry-run] [--days N] [--json]`: the retention purge the daemon runs daily, on demand.
import { daysOption, type GlobalOptions } from './common.js';
import { withStore } from './store-only.js';
import { configFile, loadConfig } from '../config/load.js';
import { purge, type PurgeResult } from '../store/purge.js';
import { localStamp } from '../util/local-stamp.js';

export async function purgeCommand(opts: GlobalOptions & { dryRun?: boolean; days?: string }): Promise<number> {
  const days = daysOption(opts.days) ?? loadConfig(configFile(opts.config)).retention.days;
  return withStore(opts, async (s, config) => {
    const r = await purge(s.knex, { now: Date.now(), days, dryRun: opts.dryRun ?? false });
    if (opts.json) console.log(JSON.stringify({ ...r, days, cutoff: new Date(r.cutoff).toISOString() }, null, 2));
    else console.log(formatPurge(r, days, config.timeZone));
    return 0;
  });
}

export function formatPurge(r: PurgeResult, days: number, zone = 'Europe/Rome'): string {
  const verb = r.dryRun ? 'would purge' : 'purged';
  return [
    `Retention ${days} days: ${verb} what finished before ${localStamp(r.cutoff, zone)}${r.dryRun ? ' (dry run: nothing changed)' : ''}`,
    `  events (payload, phone, fiscal code)  ${r.events}`,
    `  WhatsApp addresses of deliveries      ${r.addresses}`,
    `  attempts log rows                     ${r.attempts}`,
    `  WhatsApp status webhooks              ${r.whatsappStatuses}`,
    `  inbound WhatsApp messages             ${r.inbound}`,
    `  replies to citizens (reply outbox)    ${r.replies}`,
    'Kept: dedup keys, delivery states, timestamps, provider ids, reasons.',
  ].join('\n');
}
