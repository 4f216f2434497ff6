// Whether a commit the store acknowledges survives a crash of the machine or database server.
// Ponte's "never two" rests on it: a `sending` committed before a request leaves must still be
// there after a power cut, or that delivery comes back pending and goes out twice. SQLite is
// opened with synchronous FULL (db.ts); PostgreSQL's settings belong to its administrator, so
// `ponte run` reads them and says plainly when they trade this away for speed.
import type { Store } from './db.js';

/** One sentence per setting that lets an acknowledged commit be lost; empty when none does. */
export async function durabilityWarnings(store: Store): Promise<string[]> {
  if (store.dialect !== 'postgres') return [];
  const r = await store.knex.raw(`select current_setting('fsync') as fsync, current_setting('synchronous_commit') as sync`);
  const { fsync, sync } = (r as { rows: Array<{ fsync: string; sync: string }> }).rows[0]!;
  return postgresDurabilityRisks({ fsync, synchronousCommit: sync });
}

/**
 * The sentences for PostgreSQL's settings as the server reports them. (fsync can only be changed
 * for the whole server, so the tests give it here rather than turning it off on a shared server.)
 */
export function postgresDurabilityRisks(settings: { fsync: string; synchronousCommit: string }): string[] {
  const risk = 'a crash of the database server can lose the last commits, and a send recorded in them may go out twice';
  const warnings: string[] = [];
  if (settings.fsync === 'off') warnings.push(`PostgreSQL has fsync = off: ${risk} (or the database be corrupted)`);
  if (settings.synchronousCommit === 'off') warnings.push(`PostgreSQL has synchronous_commit = off: ${risk}`);
  return warnings;
}
