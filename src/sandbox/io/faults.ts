import { mulberry32 } from '../../util/prng.js';

// Fault injection: what a real network and a real IO do to a sender now and then. Random faults
// come from a seeded PRNG so a failing run can be replayed; failNext() gives exact tests.

/** A served operation, as the sandbox names and records it. */
export type SandboxOp = 'getProfile' | 'submitMessage' | 'getMessage';

/**
 * - `500`: ProblemJson 500, nothing created.
 * - `429`: an APIM 429 with `x-rate-limit-retry-after: 1`, nothing created.
 * - `timeout`: the operation runs (a message IS created) but the response is withheld.
 * - `reset`: the socket is destroyed before anything happens, nothing created.
 */
export type FaultKind = '500' | '429' | 'timeout' | 'reset';

export interface FaultOptions {
  /** Probabilities 0..1 (their sum at most 1), drawn once per request. */
  rate500?: number;
  rate429?: number;
  rateTimeout?: number;
  rateReset?: number;
  /** PRNG seed; the same seed and request order give the same faults. Default 1. */
  seed?: number;
  /** How long a `timeout` withholds the response. Default 30000. */
  timeoutMs?: number;
  /** Restrict random faults to these operations (default: all). */
  ops?: SandboxOp[];
}


interface Scheduled {
  remaining: number;
  kind: FaultKind;
  op?: SandboxOp;
}

export class Faults {
  private options: FaultOptions = {};
  private random: () => number = mulberry32(1);
  private readonly scheduled: Scheduled[] = [];

  constructor(options?: FaultOptions) {
    this.set(options ?? {});
  }

  /** Replace the random fault settings (and restart the PRNG from the seed). */
  set(options: FaultOptions): void {
    const rates = [options.rate500, options.rate429, options.rateTimeout, options.rateReset];
    for (const r of rates) {
      if (r !== undefined && !(r >= 0 && r <= 1)) throw new Error(`IO sandbox: fault rate ${r} is not within 0..1`);
    }
    if (rates.reduce<number>((sum, r) => sum + (r ?? 0), 0) > 1) {
      throw new Error('IO sandbox: fault rates add up to more than 1');
    }
    this.options = { ...options };
    this.random = mulberry32(options.seed ?? 1);
  }

  /** The next `count` requests (to `op`, or to any operation) fail with `kind`. */
  failNext(count: number, kind: FaultKind, op?: SandboxOp): void {
    if (count > 0) this.scheduled.push({ remaining: count, kind, op });
  }

  get timeoutMs(): number {
    return this.options.timeoutMs ?? 30_000;
  }

  /** The fault to apply to this request, if any. Scheduled faults come first, in order. */
  pick(op: SandboxOp): FaultKind | undefined {
    const i = this.scheduled.findIndex((s) => s.op === undefined || s.op === op);
    if (i >= 0) {
      const s = this.scheduled[i]!;
      if (--s.remaining === 0) this.scheduled.splice(i, 1);
      return s.kind;
    }
    const o = this.options;
    if (o.ops && !o.ops.includes(op)) return undefined;
    const table: Array<[FaultKind, number | undefined]> = [
      ['500', o.rate500],
      ['429', o.rate429],
      ['timeout', o.rateTimeout],
      ['reset', o.rateReset],
    ];
    if (table.every(([, rate]) => !rate)) return undefined;
    let r = this.random();
    for (const [kind, rate] of table) {
      if (r < (rate ?? 0)) return kind;
      r -= rate ?? 0;
    }
    return undefined;
  }
}
