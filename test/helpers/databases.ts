// Real databases for integration suites. Each suite gets its own throw-away schema (PostgreSQL)
// or database (MariaDB), so suites never see each other's rows. A laptop without the servers
// still passes `npm test`: the suites are skipped with the reason; CI (CI=true) requires them.
import knexFactory from 'knex';
import { MARIADB_URL, PG_URL, type Dialect } from '../../src/connectors/harness/scratch.js';

export { MARIADB_URL, PG_URL, type Dialect };

const probes = new Map<Dialect, Promise<string | null>>();

/** null when reachable, otherwise why not. */
export function unavailable(dialect: Dialect): Promise<string | null> {
  if (dialect === 'sqlite') return Promise.resolve(null);
  let p = probes.get(dialect);
  if (!p) {
    p = (async () => {
      const k = knexFactory(dialect === 'postgres'
        ? { client: 'pg', connection: PG_URL, pool: { min: 0, max: 1 }, acquireConnectionTimeout: 3000 }
        : { client: 'mysql2', connection: MARIADB_URL, pool: { min: 0, max: 1 }, acquireConnectionTimeout: 3000 });
      try {
        await k.raw('select 1');
        return null;
      } catch (e) {
        return `${dialect} not reachable at ${dialect === 'postgres' ? PG_URL : MARIADB_URL}: ${(e as Error).message}`;
      } finally {
        await k.destroy();
      }
    })();
    probes.set(dialect, p);
  }
  return p;
}

/** Dialects to run a suite on: all three locally when reachable; CI demands PostgreSQL and MariaDB. */
export async function availableDialects(wanted: Dialect[] = ['sqlite', 'postgres', 'mariadb']): Promise<{ run: Dialect[]; skipped: string[] }> {
  const run: Dialect[] = [];
  const skipped: string[] = [];
  for (const d of wanted) {
    const why = await unavailable(d);
    if (why === null) run.push(d);
    else if (process.env.CI) throw new Error(`CI requires ${d}: ${why}`);
    else skipped.push(why);
  }
  return { run, skipped };
}

export { scratchDb, type ScratchDb } from '../../src/connectors/harness/scratch.js';
