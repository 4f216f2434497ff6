// The driver's look into Ponte's store between and after the daemon's lives: what was in flight
// at a kill, progress, and the final states. It only reads.
import { existsSync } from 'node:fs';
import knexFactory, { type Knex } from 'knex';
import type { JudgedDelivery } from './judge.js';

export class StoreView {
  private sqlite: Knex | undefined;

  /** A PostgreSQL store (the scratch schema's knex), or the SQLite file the daemon creates. */
  constructor(private readonly target: { knex: Knex } | { file: string }) {}

  private db(): Knex | null {
    if ('knex' in this.target) return this.target.knex;
    if (this.sqlite) return this.sqlite;
    if (!existsSync(this.target.file)) return null;
    this.sqlite = knexFactory({
      client: 'better-sqlite3', connection: { filename: this.target.file }, useNullAsDefault: true,
      pool: { min: 0, max: 1, afterCreate: (c: { pragma(s: string): unknown }, done: (e: Error | null, c: unknown) => void) => { c.pragma('busy_timeout = 5000'); done(null, c); } },
    });
    return this.sqlite;
  }

  /** Runs a read; a store the first life did not get to create (or migrate) reads as empty. */
  private async read<T>(fallback: T, fn: (k: Knex) => Promise<T>): Promise<T> {
    const k = this.db();
    if (!k) return fallback;
    try {
      return await fn(k);
    } catch (e) {
      if (/no such table|does not exist/i.test((e as Error).message)) return fallback;
      throw e;
    }
  }

  /** Deliveries in `sending`: right after a kill, exactly those whose send was in flight. */
  sendingIds(): Promise<number[]> {
    return this.read([], async (k) => (await k('deliveries').where({ state: 'sending' }).pluck('id')).map(Number));
  }

  uncertainIds(): Promise<number[]> {
    return this.read([], async (k) => (await k('deliveries').where({ state: 'uncertain' }).pluck('id')).map(Number));
  }

  progress(): Promise<{ events: number; open: number; states: Record<string, number> }> {
    return this.read({ events: 0, open: 0, states: {} }, async (k) => {
      const events = Number((await k('events').count({ n: '*' }).first())?.n ?? 0);
      const rows = (await k('deliveries').select('state').count({ n: '*' }).groupBy('state')) as Array<{ state: string; n: number | string }>;
      const states = Object.fromEntries(rows.map((r) => [r.state, Number(r.n)]));
      const open = (states.pending ?? 0) + (states.sending ?? 0) + (states.accepted ?? 0);
      return { events, open, states };
    });
  }

  /** Who holds each connector and until when, and how long each process has been silent (ms, against `now`). */
  leases(now: number): Promise<{ connectors: unknown[]; processes: unknown[] }> {
    return this.read({ connectors: [], processes: [] }, async (k) => {
      const connectors = ((await k('connector_state').select('instance_id', 'lease_owner', 'lease_expires_at')) as Array<{ instance_id: string; lease_owner: string | null; lease_expires_at: number | string | null }>)
        .map((c) => ({ connector: c.instance_id, heldBy: c.lease_owner, expiresInMs: c.lease_expires_at == null ? null : Number(c.lease_expires_at) - now }));
      const processes = ((await k('processes').select('owner', 'pid', 'heartbeat_at')) as Array<{ owner: string; pid: number | string | null; heartbeat_at: number | string }>)
        .map((p) => ({ owner: p.owner, pid: p.pid === null ? null : Number(p.pid), silentMs: now - Number(p.heartbeat_at) }));
      return { connectors, processes };
    });
  }

  deliveries(): Promise<JudgedDelivery[]> {
    return this.read([], async (k) => {
      const rows = await k('deliveries as d').join('events as e', 'e.id', 'd.event_id')
        .select('d.id', 'e.fiscal_code', 'd.state', 'd.provider_id', 'd.reason', 'd.last_error');
      return rows.map((r: { id: number; fiscal_code: string; state: string; provider_id: string | null; reason: string | null; last_error: string | null }) => ({
        id: Number(r.id), fiscalCode: r.fiscal_code, state: r.state, providerId: r.provider_id, reason: r.reason, lastError: r.last_error,
      }));
    });
  }

  async close(): Promise<void> {
    await this.sqlite?.destroy();
  }
}
