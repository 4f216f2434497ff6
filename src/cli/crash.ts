// What the CLI prints when something throws outside any command's try (a timer or an event
// handler in a driver or a connector). Node's own crash report quotes the error in clear, its
// properties and even the source line; this one is masked like every other error the CLI prints.
import { maskDeep, maskText } from '../util/mask.js';

function report(kind: string, e: unknown): void {
  const message = e instanceof Error ? e.message : String(e);
  process.stderr.write(`ponte: crashed (${kind}): ${maskText(message)}\n`);
  // The stack says where; PONTE_DEBUG adds the error's own fields, masked like the action's dump.
  const detail = process.env.PONTE_DEBUG ? maskDeep(e) : e instanceof Error && e.stack ? maskText(e.stack) : undefined;
  if (detail !== undefined) console.error(detail);
}

/** Exit 1 with a masked report on an uncaught exception or unhandled rejection, as Node would exit, unmasked. */
export function installCrashReport(): void {
  process.on('uncaughtException', (e) => {
    report('uncaught exception', e);
    process.exit(1);
  });
  process.on('unhandledRejection', (e) => {
    report('unhandled rejection', e);
    process.exit(1);
  });
}
