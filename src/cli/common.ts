// Shared CLI plumbing: loggers for humans, building the app, and errors printed as a CED staffer
// needs them (no stack traces for configuration mistakes).
import { createLogger } from '../log/logger.js';
import { ConfigError } from '../config/errors.js';
import { configFile } from '../config/load.js';
import { createApp, type AppContext, type AppOptions } from '../app/context.js';
import { pino, type Logger } from 'pino';
import { maskDeep, maskText } from '../util/mask.js';

export interface GlobalOptions {
  config?: string;
  json?: boolean;
  logLevel?: string;
}

export function cliLogger(opts: GlobalOptions): Logger {
  // JSON lines when piped or asked (machines, log shippers); pretty lines for a person at a terminal.
  const json = opts.json || process.env.PONTE_LOG_FORMAT === 'json' || !process.stdout.isTTY;
  // Synchronous writes: a short command's last lines must come out before it exits, in order.
  return createLogger({ ...(opts.logLevel ? { level: opts.logLevel } : {}), pretty: !json, ...(json ? { destination: pino.destination({ dest: 1, sync: true }) } : {}) });
}

export async function withApp<T>(opts: GlobalOptions, extra: Partial<AppOptions>, fn: (app: AppContext) => Promise<T>): Promise<T> {
  const log = extra.log ?? cliLogger(opts);
  const app = await createApp({ configFile: configFile(opts.config), log, ...extra });
  try {
    return await fn(app);
  } finally {
    await app.close();
  }
}

/** A bad option value or argument: printed like a config error, exit 2 (as commander's own usage errors). */
export class UsageError extends Error {}

/** `--days n`: a whole number of days ≥ 1, or a usage error naming the option; undefined when not given. */
export function daysOption(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const days = Number(text);
  if (!Number.isInteger(days) || days < 1) throw new UsageError(`--days must be a whole number of days ≥ 1, not "${text}"`);
  return days;
}

/**
 * Runs a command body; configuration and usage errors print cleanly and exit 2, others exit 1.
 * This is the last-resort printer of every command, and what reaches it may quote a citizen:
 * a back-office SQL error carries the offending value (`invalid input syntax for type integer:
 * "+39 347 …"`), a connector's own error anything it read. The logger masks such text; so must
 * this, or a terminal (or a ticket it is pasted into) gets what the logs never hold.
 */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void | number>) {
  return async (...args: A): Promise<void> => {
    try {
      const code = await fn(...args);
      if (typeof code === 'number') process.exitCode = code;
    } catch (e) {
      if (e instanceof ConfigError) {
        console.error(maskText(e.message));
        process.exitCode = 2;
        return;
      }
      if (e instanceof UsageError) {
        console.error(`ponte: ${maskText(e.message)}`);
        process.exitCode = 2;
        return;
      }
      console.error(`ponte: ${maskText(e instanceof Error ? e.message : String(e))}`);
      // Stack, cause and the driver's own fields (a pg error's `detail`), masked the same way.
      if (process.env.PONTE_DEBUG) console.error(maskDeep(e));
      process.exitCode = 1;
    }
  };
}
