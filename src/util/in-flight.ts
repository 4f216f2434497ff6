// Work still running, for a stop to wait on: a set of promises that empties itself as they settle.

export class InFlight {
  private readonly running = new Set<Promise<unknown>>();

  /** Adds `p` until it settles; returns it. A rejection stays the caller's to handle. */
  track<T>(p: Promise<T>): Promise<T> {
    this.running.add(p);
    void p.finally(() => this.running.delete(p)).catch(() => undefined);
    return p;
  }

  /** Resolves once nothing is running, work tracked meanwhile included. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }
}

/** True when every promise settled within `ms`; false once `ms` pass first (they run on). */
export async function settleWithin(work: Promise<unknown>[], ms: number): Promise<boolean> {
  if (work.length === 0) return true;
  let timer: NodeJS.Timeout | undefined;
  const done = await Promise.race([
    Promise.allSettled(work).then(() => true),
    new Promise<boolean>((r) => { timer = setTimeout(() => r(false), ms); }),
  ]);
  clearTimeout(timer);
  return done;
}
