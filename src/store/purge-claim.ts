// The daemon's scheduled retention purge, once per store: every `ponte run` sharing the store has
// the same schedule, and without a claim all of them purged at 03:30 at once. Harmless (each chunk
// is re-checked in its UPDATE) but three scans of the ledger, and the counts split between three
// log lines that no single one added up. The first process to claim a run does it; the others log
// who did. `ponte purge` on demand does not claim.
import type { Knex } from 'knex';

const NAME = 'retention_purge_claim';

/** Claims within this long of the last one are the same scheduled run, fired in every process. */
export const PURGE_CLAIM_GAP_MS = 60_000;

export type PurgeClaim = { claimed: true } | { claimed: false; by: string; at: number };

export async function claimScheduledPurge(knex: Knex, owner: string, now: number): Promise<PurgeClaim> {
  return knex.transaction(async (trx) => {
    await trx('store_meta').insert({ name: NAME, value: JSON.stringify({ by: '', at: 0 }) }).onConflict('name').ignore();
    // The row lock serialises the processes firing together (SQLite has one writer anyway).
    const row = (await trx('store_meta').where({ name: NAME }).forUpdate().first('value')) as { value: string };
    const last = JSON.parse(row.value) as { by: string; at: number };
    if (now - last.at < PURGE_CLAIM_GAP_MS) return { claimed: false, by: last.by, at: last.at };
    await trx('store_meta').where({ name: NAME }).update({ value: JSON.stringify({ by: owner, at: now }) });
    return { claimed: true };
  });
}
