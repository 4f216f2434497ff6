// A delivery's logger: a child of the dispatcher's with whom and what it is about. Made when the
// first line is logged, not for every delivery: its bindings include an HMAC of the citizen's
// fiscal code or number (ref-key.ts), and the child and the HMAC were about 4 µs of each
// delivery's Node CPU on a machine whose level logs nothing for it (a benchmark, or `warn`).
import type { Bindings, Logger } from 'pino';

type Level = 'info' | 'warn' | 'error';

export class LazyChild {
  private child: Logger | undefined;

  constructor(private readonly parent: Logger, private readonly bindings: () => Bindings) {}

  info(objOrMsg: object | string, msg?: string): void { this.line('info', objOrMsg, msg); }
  warn(objOrMsg: object | string, msg?: string): void { this.line('warn', objOrMsg, msg); }
  error(objOrMsg: object | string, msg?: string): void { this.line('error', objOrMsg, msg); }

  private line(level: Level, objOrMsg: object | string, msg: string | undefined): void {
    if (!this.parent.isLevelEnabled(level)) return;
    const log = (this.child ??= this.parent.child(this.bindings()));
    if (typeof objOrMsg === 'string') log[level](objOrMsg);
    else log[level](objOrMsg, msg);
  }
}
