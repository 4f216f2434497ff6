// `ponte channel resume <name>`: after a stop-and-alert (revoked token, blocked account) is fixed.
import type { GlobalOptions } from './common.js';
import { withStore } from './store-only.js';
import { resumeChannel } from '../store/channel-alerts.js';
import { configSchema } from '../config/schema.js';

// The channels the config knows (channels: in ponte.yaml), not a list kept by hand beside it.
const CHANNELS = Object.keys(configSchema.shape.channels.unwrap().shape);

export async function channelResumeCommand(name: string, opts: GlobalOptions): Promise<number> {
  if (!CHANNELS.includes(name)) {
    console.error(`ponte: unknown channel "${name}" (channels: ${CHANNELS.join(', ')})`);
    return 2;
  }
  return withStore(opts, async (s) => {
    const resumed = await resumeChannel(s.knex, name, Date.now());
    if (!resumed) console.log(`channel ${name} was not halted: nothing to do`);
    else console.log(`channel ${name} resumed: its pending deliveries go out at the next dispatcher pass${resumed.due ? ` (${resumed.due} put off by the halt are due again now)` : ''}`);
    return 0;
  });
}
