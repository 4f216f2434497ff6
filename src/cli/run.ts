// `ponte run`: the daemon.
import type { GlobalOptions } from './common.js';
import { withApp } from './common.js';
import { runDaemon } from '../app/daemon.js';

export async function runCommand(opts: GlobalOptions & { pollAtStart?: boolean; graceSeconds?: string }): Promise<number> {
  return withApp(opts, {}, async (app) => {
    await runDaemon(app, { pollAtStart: opts.pollAtStart !== false, graceMs: Number(opts.graceSeconds ?? 30) * 1000 });
    return 0;
  });
}
