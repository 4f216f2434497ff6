// Makes store queries slow on purpose: another session holds a table in ACCESS EXCLUSIVE mode for
// a while (PostgreSQL), so a statement on it waits, past a query bound if need be.
import type { Knex } from 'knex';

/** Runs `work` while another session holds `table` locked for `ms`; returns once both have ended. */
export async function whileTableLocked<T>(knex: Knex, table: string, ms: number, work: () => Promise<T>): Promise<T> {
  let locked!: () => void;
  const isLocked = new Promise<void>((ok) => { locked = ok; });
  const holder = knex.transaction(async (trx) => {
    await trx.raw('lock table ?? in access exclusive mode', [table]);
    locked();
    await new Promise((r) => setTimeout(r, ms));
  });
  await isLocked;
  try {
    return await work();
  } finally {
    await holder;
  }
}
