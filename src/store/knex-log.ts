// knex reports pool trouble (a refused connection, each retry of it) through its own logger,
// which prints multi-line stack traces on stdout: in `ponte run` that broke the JSON log lines a
// collector reads, and it came ahead of `ponte status --json`'s output. Here each becomes one
// masked line: a pino log line when the process has a logger, else a line on stderr.
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { maskText } from '../util/mask.js';
import type { StoreOutage } from './outage.js';

/** The first line of an error or message, masked: what a log line about the store shows of it. */
export const firstLine = (m: unknown): string => maskText(String(m instanceof Error ? m.message : m).split('\n')[0]!.trim());

export function knexLog(log?: Logger, what = 'store', outage?: StoreOutage): NonNullable<Knex.Config['log']> {
  const emit = (level: 'warn' | 'error') => (m: unknown) => {
    // A lost connection, each retry of it: the outage says it once for the whole process.
    if (log && outage?.report(m)) return log.debug({ component: what }, firstLine(m));
    if (log) log[level]({ component: what }, firstLine(m));
    else process.stderr.write(`ponte: ${what}: ${firstLine(m)}\n`);
  };
  return {
    warn: emit('warn'),
    error: emit('error'),
    deprecate: () => undefined,
    debug: (m: unknown) => log?.debug({ component: what }, firstLine(m)),
  };
}
