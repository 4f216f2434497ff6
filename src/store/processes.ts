// Which Ponte processes are alive on this store. A provider limit that counts per account (IO's
// per-owner 150 requests / 5 s) is split evenly between them: the budget is shared through the
// store, not assumed per process. A process that stops heartbeating drops out after `ttlMs`.
import type { Knex } from 'knex';
import type { ProcessIdentity } from '../util/process-identity.js';

/** How often a running `ponte run` records that it is alive. */
export const HEARTBEAT_MS = 2000;

/** How long a process that stopped heartbeating is remembered (and shown by `ponte status`). */
export const FORGET_AFTER_MS = 3_600_000;

/** `me`: who this process is, recorded with its first beat (see dead-processes.ts). */
export async function heartbeat(knex: Knex, owner: string, now: number, me?: ProcessIdentity): Promise<void> {
  const who = me ? { host_key: me.hostKey, pid: me.pid, claim_tag: me.claimTag } : {};
  await knex('processes').insert({ owner, started_at: now, heartbeat_at: now, ...who }).onConflict('owner').merge({ heartbeat_at: now });
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

export interface ProcessRow {
  owner: string;
  startedAt: number;
  heartbeatAt: number;
}

/**
 * The processes that heartbeat within the last FORGET_AFTER_MS, latest started first. Older rows
 * wait for the next start's forgetDead, which may be days away.
 */
export async function listProcesses(knex: Knex, now: number): Promise<ProcessRow[]> {
  const rows = (await knex('processes').where('heartbeat_at', '>=', now - FORGET_AFTER_MS).select('owner', 'started_at', 'heartbeat_at').orderBy('started_at', 'desc')) as Array<Record<string, unknown>>;
  return rows.map((r) => ({ owner: String(r.owner), startedAt: Number(r.started_at), heartbeatAt: Number(r.heartbeat_at) }));
}
