// A bound on how long a probe or a scrape waits for the store: a hung database connection must
// show as "not reachable" within the prober's own timeout, not after knex's 60 s acquire timeout.
export function withTimeout<T>(work: PromiseLike<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([Promise.resolve(work), expired]).finally(() => clearTimeout(timer));
}
