// `ponte dispatch --once`: works all due deliveries now, then exits.
import type { GlobalOptions } from './common.js';
import { withApp } from './common.js';
import { Dispatcher } from '../dispatch/dispatcher.js';

export async function dispatchCommand(opts: GlobalOptions & { once?: boolean }): Promise<number> {
  return withApp(opts, {}, async (app) => {
    const dispatcher = new Dispatcher({ store: app.store, channels: app.channels, cfg: app.config.dispatcher, log: app.log });
    const stats = await dispatcher.drain();
    if (opts.json) console.log(JSON.stringify(stats));
    else app.log.info(stats, 'dispatch pass finished');
    return 0;
  });
}
