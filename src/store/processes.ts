// Which Ponte processes are alive on this store. A provider limit that counts per account (IO's
// per-owner 150 requests / 5 s) is split evenly between them: the budget is shared through the
// store, not assumed per process. A process that stops heartbeating drops out after `ttlMs`.
import type { Knex } from 'knex';

export async function heartbeat(knex: Knex, owner: string, now: number): Promise<void> {
  await knex('processes').insert({ owner, started_at: now, heartbeat_at: now }).onConflict('owner').merge({ heartbeat_at: now });
}

export async function liveProcesses(knex: Knex, now: number, ttlMs: number): Promise<number> {
  const row = await knex('processes').where('heartbeat_at', '>=', now - ttlMs).count({ n: '*' }).first();
  return Math.max(1, Number(row?.n ?? 1));
}

export async function leave(knex: Knex, owner: string): Promise<void> {
  await knex('processes').where({ owner }).del();
}

/** Old rows of processes long gone (killed without leaving). */
export async function forgetDead(knex: Knex, now: number, olderThanMs: number): Promise<number> {
  return knex('processes').where('heartbeat_at', '<', now - olderThanMs).del();
}
