// The one way Ponte creates loggers. Every line is masked (fiscal codes, phone numbers) at
// three points, so no call site can forget: the call arguments (message, interpolation
// values, merged object, Errors), child bindings, and finally the serialised line itself.
import { pino, type DestinationStream, type LevelWithSilent, type LogFn, type Logger } from 'pino';
import pretty from 'pino-pretty';
import { maskDeep, maskText } from '../util/mask.js';

export type { Logger } from 'pino';

export interface LoggerOptions {
  /** fatal, error, warn, info, debug, trace or silent. Default: env PONTE_LOG_LEVEL, else info. */
  level?: string;
  /** Human-readable lines (pino-pretty, in-process) instead of JSON. */
  pretty?: boolean;
  /** Where lines go. Default: stdout. */
  destination?: DestinationStream;
}

export const LOG_LEVELS: readonly LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function resolveLevel(option: string | undefined): LevelWithSilent {
  const fromEnv = option === undefined && process.env.PONTE_LOG_LEVEL !== undefined;
  const raw = option ?? process.env.PONTE_LOG_LEVEL ?? 'info';
  const level = raw.trim().toLowerCase();
  if ((LOG_LEVELS as readonly string[]).includes(level)) return level as LevelWithSilent;
  const source = fromEnv ? 'PONTE_LOG_LEVEL' : 'log level';
  throw new Error(`${source} "${raw}" is not a log level: use one of ${LOG_LEVELS.join(', ')}`);
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const options: pino.LoggerOptions = {
    level: resolveLevel(opts.level),
    hooks: {
      logMethod(args, method) {
        method.apply(this, args.map((a) => maskDeep(a)) as Parameters<LogFn>);
      },
      // Last line of defence: whatever a serializer produced, the written line is masked.
      streamWrite: (line) => maskText(line),
    },
    formatters: {
      log: (obj) => maskDeep(obj),
      bindings: (bindings) => maskDeep(bindings),
    },
  };
  if (!opts.pretty) return opts.destination ? pino(options, opts.destination) : pino(options);

  const target = (opts.destination ?? process.stdout) as { isTTY?: boolean };
  const stream = pretty({
    colorize: target.isTTY === true,
    ignore: 'pid,hostname',
    translateTime: 'SYS:HH:MM:ss',
    // Synchronous so that lines written just before the CLI exits are not lost.
    sync: true,
    ...(opts.destination ? { destination: opts.destination } : {}),
  });
  return pino(options, stream);
}
