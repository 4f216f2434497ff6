// `ponte channel halt <name>`: the operator's emergency brake (a wrong text going out), and
// `ponte channel resume <name>`: after it, or after a stop-and-alert (revoked token, blocked account), is fixed.
import type { GlobalOptions } from './common.js';
import { withStore } from './store-only.js';
import { activeAlerts, OPERATOR_HALT, raiseAlert, resumeChannel } from '../store/channel-alerts.js';
import { CHANNEL_NAMES as CHANNELS } from '../config/schema.js';

function known(name: string): boolean {
  if (CHANNELS.includes(name)) return true;
  console.error(`ponte: unknown channel "${name}" (channels: ${CHANNELS.join(', ')})`);
  return false;
}

/**
 * Halts a channel for every process on the store, as a provider's "stop" does: each stops claiming
 * it at its next batch and posts nothing more of it (what is already posted finishes); its
 * deliveries stay pending, nothing is lost or cancelled.
 */
export async function channelHaltCommand(name: string, o: { reason?: string }, opts: GlobalOptions): Promise<number> {
  if (!known(name)) return 2;
  return withStore(opts, async (s) => {
    const before = (await activeAlerts(s.knex)).find((a) => a.channel === name);
    const reason = `halted by an operator${o.reason ? `: ${o.reason}` : ''}`;
    await raiseAlert(s.knex, name, reason, OPERATOR_HALT, Date.now());
    if (before) console.log(`channel ${name} was already halted (${before.reason}); reason now: ${reason}`);
    else console.log(`channel ${name} halted: every process stops posting on it within one batch of claims; its deliveries stay pending, also across restarts. \`ponte channel resume ${name}\` sends them.`);
    return 0;
  });
}

export async function channelResumeCommand(name: string, opts: GlobalOptions): Promise<number> {
  if (!known(name)) return 2;
  return withStore(opts, async (s) => {
    const resumed = await resumeChannel(s.knex, name, Date.now());
    if (!resumed) console.log(`channel ${name} was not halted: nothing to do`);
    else console.log(`channel ${name} resumed: its pending deliveries go out at the next dispatcher pass${resumed.due ? ` (${resumed.due} put off by the halt are due again now)` : ''}`);
    return 0;
  });
}
