// /readyz: is this process able to do its work? The store answers, its schema is the one this
// build expects, and none of this process's channels is halted by a stop-and-alert condition.
// Each problem is named, with what to do, so an operator reading the probe knows where to look.
import type { Store } from '../store/db.js';
import { migrationsCurrent } from '../store/db.js';
import { activeAlerts, OPERATOR_HALT, parseAlertKey } from '../store/channel-alerts.js';
import { maskText } from '../util/mask.js';
import { withTimeout } from './timeout.js';

export interface Readiness {
  ready: boolean;
  checks: { store: 'ok' | 'failed'; migrations: 'ok' | 'failed' | 'not checked'; channels: 'ok' | 'failed' | 'not checked' };
  /** One line per problem found; empty when ready. */
  problems: string[];
}

export interface ReadinessDeps {
  store: Store;
  /** The channels this process sends on: an alert on another channel is not this process's problem. */
  channels: readonly string[];
  /** Per check; a store that hangs must not hang the probe. Default 3000. */
  timeoutMs?: number;
}

const message = (e: unknown) => maskText(e instanceof Error ? e.message : String(e));

export async function checkReadiness(deps: ReadinessDeps): Promise<Readiness> {
  const timeoutMs = deps.timeoutMs ?? 3000;
  const problems: string[] = [];
  const checks: Readiness['checks'] = { store: 'ok', migrations: 'not checked', channels: 'not checked' };
  try {
    await withTimeout(deps.store.knex.raw('select 1'), timeoutMs, 'select 1');
  } catch (e) {
    checks.store = 'failed';
    // Named (without credentials): an operator with several stores, or a process left on the
    // default SQLite file, sees at once which one is meant.
    problems.push(`store${deps.store.where ? ` ${deps.store.where}` : ''}: not reachable (${message(e)})`);
    // Nothing else can be read without the store.
    return { ready: false, checks, problems };
  }
  try {
    const current = await withTimeout(migrationsCurrent(deps.store), timeoutMs, 'reading the migrations');
    checks.migrations = current ? 'ok' : 'failed';
    if (!current) problems.push('migrations: the store schema is not current (run `ponte migrate`)');
  } catch (e) {
    checks.migrations = 'failed';
    problems.push(`migrations: could not be read (${message(e)})`);
  }
  // A schema this build does not know may not even have the alerts table: one problem, not two.
  if (checks.migrations !== 'ok') return { ready: false, checks, problems };
  try {
    const alerts = (await withTimeout(activeAlerts(deps.store.knex), timeoutMs, 'reading channel alerts'))
      .map((a) => ({ ...a, ...parseAlertKey(a.channel) })).filter((a) => deps.channels.includes(a.channel));
    checks.channels = alerts.length ? 'failed' : 'ok';
    for (const a of alerts) {
      const what = a.part ? `channel ${a.channel} (${a.part} only)` : `channel ${a.channel}`;
      problems.push(`${what}: halted since ${new Date(a.since).toISOString()}: ${maskText(a.reason)} (${a.code === OPERATOR_HALT ? 'by an operator; to send again' : 'after fixing the cause'}: \`ponte channel resume ${a.channel}\`)`);
    }
  } catch (e) {
    checks.channels = 'failed';
    problems.push(`channels: alerts could not be read (${message(e)})`);
  }
  return { ready: problems.length === 0, checks, problems };
}
