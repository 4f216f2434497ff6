// One process polls a connector instance at a time: a lease row per instance with an epoch
// (fencing token) that every commit re-checks inside its own transaction. A process whose lease
// expired and was taken over cannot commit, even if it is still running.
import type { Knex } from 'knex';

export interface Lease {
  instanceId: string;
  owner: string;
  epoch: number;
}

export class FencedError extends Error {
  constructor(instanceId: string) {
    super(`connector ${instanceId}: lease lost to another process; this batch was not committed`);
    this.name = 'FencedError';
  }
}

export async function ensureConnectorRow(knex: Knex, instanceId: string, now: number): Promise<void> {
  await knex('connector_state').insert({ instance_id: instanceId, lease_epoch: 0, updated_at: now })
    .onConflict('instance_id').ignore();
}

/** Takes the lease when free or expired; null when another live process holds it. */
export async function acquireLease(knex: Knex, instanceId: string, owner: string, ttlMs: number, now: number): Promise<Lease | null> {
  await ensureConnectorRow(knex, instanceId, now);
  const updated = await knex('connector_state')
    .where({ instance_id: instanceId })
    .andWhere((q) => q.whereNull('lease_expires_at').orWhere('lease_expires_at', '<', now).orWhere('lease_owner', owner))
    .update({
      lease_owner: owner,
      lease_expires_at: now + ttlMs,
      lease_epoch: knex.raw('lease_epoch + 1'),
      updated_at: now,
    });
  if (updated !== 1) return null;
  const row = await knex('connector_state').where({ instance_id: instanceId }).first('lease_epoch');
  return { instanceId, owner, epoch: Number(row.lease_epoch) };
}

/** Extends a live lease; false when it was lost (the caller must stop). */
export async function renewLease(knex: Knex, lease: Lease, ttlMs: number, now: number): Promise<boolean> {
  const n = await knex('connector_state')
    .where({ instance_id: lease.instanceId, lease_owner: lease.owner, lease_epoch: lease.epoch })
    .update({ lease_expires_at: now + ttlMs, updated_at: now });
  return n === 1;
}

export async function releaseLease(knex: Knex, lease: Lease, now: number): Promise<void> {
  await knex('connector_state')
    .where({ instance_id: lease.instanceId, lease_owner: lease.owner, lease_epoch: lease.epoch })
    .update({ lease_owner: null, lease_expires_at: null, updated_at: now });
}

export async function readCursor(knex: Knex, instanceId: string): Promise<unknown> {
  const row = await knex('connector_state').where({ instance_id: instanceId }).first('cursor');
  return row?.cursor ? JSON.parse(row.cursor as string) : undefined;
}
