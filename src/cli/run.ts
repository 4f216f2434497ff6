// `ponte run`: the daemon. Exit 0 after a graceful stop; 1 when the grace period ran out with
// work in flight (it exits then, not when the last answer comes; the next run recovers it).
import type { GlobalOptions } from './common.js';
import { withApp } from './common.js';
import { runDaemon } from '../app/daemon.js';
import { configFile, loadConfig } from '../config/load.js';
import { UsageError } from './common.js';

export async function runCommand(opts: GlobalOptions & { pollAtStart?: boolean; graceSeconds?: string; port?: string }): Promise<number> {
  // --port: several processes on one host share a config file (one port each).
  let extra = {};
  if (opts.port !== undefined) {
    const port = Number(opts.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port: expected a port number 0–65535, got "${opts.port}"`);
    const config = loadConfig(configFile(opts.config));
    extra = { config: { ...config, server: { ...config.server, port } } };
  }
  const code = await withApp(opts, extra, async (app) => {
    // --grace-seconds wins over the config's shutdown.graceSeconds.
    const graceSeconds = opts.graceSeconds !== undefined ? Number(opts.graceSeconds) : app.config.shutdown.graceSeconds;
    if (!Number.isFinite(graceSeconds) || graceSeconds < 0) throw new UsageError(`--grace-seconds: expected a number of seconds ≥ 0, got ${opts.graceSeconds}`);
    const { clean } = await runDaemon(app, { pollAtStart: opts.pollAtStart !== false, graceMs: graceSeconds * 1000 });
    return clean ? 0 : 1;
  });
  // Sends still in flight keep sockets (and the process) alive until they are answered: don't wait.
  if (code !== 0) process.exit(code);
  return code;
}
