// `ponte channel resume <name>`: after a stop-and-alert (revoked token, blocked account) is fixed.
import type { GlobalOptions } from './common.js';
import { withStore } from './store-only.js';
import { clearAlert } from '../store/channel-alerts.js';

export async function channelResumeCommand(name: string, opts: GlobalOptions): Promise<number> {
  return withStore(opts, async (s) => {
    const cleared = await clearAlert(s.knex, name);
    console.log(cleared ? `channel ${name} resumed: its pending deliveries go out at the next dispatcher pass` : `channel ${name} was not halted`);
    return 0;
  });
}
