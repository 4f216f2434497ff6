// Injected failures for exact tests: the next requests fail the way Meta or the network does.

/**
 * - `error`: a Graph error answer with `code` (no code: a codeless page, e.g. a proxy's 500); nothing created.
 * - `timeout`: the message IS created (webhooks follow) but the answer is withheld.
 * - `reset`: the socket is destroyed once the request has arrived; nothing created.
 */
export type FaultKind = 'error' | 'timeout' | 'reset';

export interface Fault {
  kind: FaultKind;
  /** Meta error code; null for none. */
  code: number | null;
  /** Overrides the usual HTTP status of the code (codeless default: 500). */
  httpStatus?: number;
}

export interface FailOptions {
  httpStatus?: number;
  kind?: FaultKind;
}

export class Faults {
  private readonly queue: Array<Fault & { remaining: number }> = [];

  /** The next `count` message requests fail with `code` (or `kind`). */
  failNext(count: number, code: number | null, opts: FailOptions = {}): void {
    if (!Number.isInteger(count) || count < 1) throw new Error(`WhatsApp sandbox: failNext count must be a positive integer (got ${count})`);
    const fault: Fault = { kind: opts.kind ?? 'error', code, ...(opts.httpStatus !== undefined ? { httpStatus: opts.httpStatus } : {}) };
    this.queue.push({ ...fault, remaining: count });
  }

  /** The fault for this request, if one is scheduled (in the order they were asked for). */
  pick(): Fault | undefined {
    const next = this.queue[0];
    if (!next) return undefined;
    if (--next.remaining === 0) this.queue.shift();
    const { remaining: _, ...fault } = next;
    return fault;
  }
}
