// The store's operations on every store dialect (knex-style: one suite, each database).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { availableDialects } from '../helpers/databases.js';
import { testStore, type TestStore } from '../helpers/store.js';
import { commitBatch, type NewEvent } from '../../src/store/commit-batch.js';
import { acquireLease, FencedError, readCursor, releaseLease } from '../../src/store/lease.js';
import { claimDeliveries } from '../../src/store/claim-deliveries.js';
import { updateDelivery, LostLeaseError } from '../../src/store/update-delivery.js';
import { recoverStaleSends } from '../../src/store/recover-stale.js';
import { pendingEntities } from '../../src/store/pending-entities.js';

const { run, skipped } = await availableDialects(['sqlite', 'postgres']);
if (skipped.length) console.warn(`[store] skipped: ${skipped.join('; ')}`);

const T0 = Date.UTC(2026, 10, 24, 9, 0, 0);

function ev(key: string, extra: Partial<NewEvent> = {}): NewEvent {
  return {
    key, type: 'appointment.reminder', fiscalCode: 'RSSMRA80A01H501U', data: { n: key },
    route: { mode: 'first', steps: [{ channel: 'appio', options: { service: 'anagrafe' } }] },
    deliveries: [{ channel: 'appio', options: { service: 'anagrafe' }, routeIndex: 0, address: null }], ...extra,
  };
}

describe.each(run)('store on %s', (dialect) => {
  let store: TestStore;
  beforeEach(async () => { store = await testStore(dialect); });
  afterEach(async () => { await store.close(); });

  it('ledger: the same key twice makes one event and one delivery', async () => {
    const a = await commitBatch(store.knex, { instanceId: 'i1', events: [ev('k1'), ev('k2')], cancellations: [], rowErrors: [], now: T0 });
    const b = await commitBatch(store.knex, { instanceId: 'i1', events: [ev('k2'), ev('k3')], cancellations: [], rowErrors: [], now: T0 + 1 });
    expect(a).toEqual({ insertedEvents: [{ key: 'k1', type: 'appointment.reminder' }, { key: 'k2', type: 'appointment.reminder' }], inserted: 2, duplicates: 0, cancelled: 0 });
    expect(b).toEqual({ insertedEvents: [{ key: 'k3', type: 'appointment.reminder' }], inserted: 1, duplicates: 1, cancelled: 0 });
    expect(await store.knex('events').count({ n: '*' })).toEqual([{ n: 3 }]);
    const ds = await store.knex('deliveries').select('state', 'channel', 'options');
    expect(ds).toHaveLength(3);
    expect(ds.every((d) => d.state === 'pending' && d.channel === 'appio' && JSON.parse(d.options).service === 'anagrafe')).toBe(true);
  });

  it('the ledger is per connector instance: the same key in two instances is two events', async () => {
    await commitBatch(store.knex, { instanceId: 'anagrafe-centro', events: [ev('appointment:123')], cancellations: [], rowErrors: [], now: T0 });
    const r = await commitBatch(store.knex, { instanceId: 'anagrafe-frazioni', events: [ev('appointment:123')], cancellations: [], rowErrors: [], now: T0 });
    expect(r.inserted).toBe(1);
    expect((await commitBatch(store.knex, { instanceId: 'anagrafe-centro', events: [ev('appointment:123')], cancellations: [], rowErrors: [], now: T0 })).inserted).toBe(0);
  });

  it('entity sets supersede pending deliveries; cancellations empty the set', async () => {
    await commitBatch(store.knex, { instanceId: 'i1', events: [ev('appt:1@10', { entity: 'appt:1' }), ev('appt:2@11', { entity: 'appt:2' })], cancellations: [], rowErrors: [], now: T0 });
    expect((await pendingEntities(store.knex, 'i1')).sort()).toEqual(['appt:1', 'appt:2']);
    const r = await commitBatch(store.knex, {
      instanceId: 'i1', events: [ev('appt:1@12', { entity: 'appt:1' })],
      cancellations: [{ entity: 'appt:2', reason: 'appointment cancelled in the back-office' }], rowErrors: [], now: T0 + 1,
    });
    expect(r.cancelled).toBe(2);
    const rows = await store.knex('deliveries as d').join('events as e', 'e.id', 'd.event_id').select('e.dedup_key', 'd.state', 'd.reason').orderBy('e.dedup_key');
    expect(rows).toEqual([
      { dedup_key: 'appt:1@10', state: 'cancelled', reason: 'superseded by appt:1@12' },
      { dedup_key: 'appt:1@12', state: 'pending', reason: null },
      { dedup_key: 'appt:2@11', state: 'cancelled', reason: 'appointment cancelled in the back-office' },
    ]);
    // Another instance's entity with the same name is untouched.
    await commitBatch(store.knex, { instanceId: 'i2', events: [], cancellations: [{ entity: 'appt:1', reason: 'x' }], rowErrors: [], now: T0 + 2 });
    expect(await store.knex('deliveries').where({ state: 'pending' }).count({ n: '*' })).toEqual([{ n: 1 }]);
  });

  it('row errors are upserted per row and field, counting sightings', async () => {
    const err = { rowKey: '42', field: 'data_ora', message: 'date is missing' };
    await commitBatch(store.knex, { instanceId: 'i1', events: [], cancellations: [], rowErrors: [err], now: T0 });
    await commitBatch(store.knex, { instanceId: 'i1', events: [], cancellations: [], rowErrors: [err], now: T0 + 5 });
    const rows = await store.knex('row_errors').select('row_key', 'field', 'seen', 'first_seen', 'last_seen');
    expect(rows).toEqual([{ row_key: '42', field: 'data_ora', seen: 2, first_seen: T0, last_seen: T0 + 5 }]);
  });

  it('fencing: a process whose lease was taken over cannot commit', async () => {
    const a = await acquireLease(store.knex, 'i1', 'proc-a', 1000, T0);
    expect(a).not.toBeNull();
    expect(await acquireLease(store.knex, 'i1', 'proc-b', 1000, T0 + 10)).toBeNull(); // still held
    const b = await acquireLease(store.knex, 'i1', 'proc-b', 1000, T0 + 2000); // expired: taken over
    expect(b!.epoch).toBe(a!.epoch + 1);
    await expect(commitBatch(store.knex, { instanceId: 'i1', lease: a!, events: [ev('late')], cancellations: [], rowErrors: [], cursor: { ts: 'x' }, now: T0 + 2001 }))
      .rejects.toBeInstanceOf(FencedError);
    expect(await store.knex('events').count({ n: '*' })).toEqual([{ n: 0 }]);
    expect(await readCursor(store.knex, 'i1')).toBeUndefined();
    await commitBatch(store.knex, { instanceId: 'i1', lease: b!, events: [ev('ok')], cancellations: [], rowErrors: [], cursor: { ts: '2026-11-24 10:00:00.123456' }, now: T0 + 2002 });
    expect(await readCursor(store.knex, 'i1')).toEqual({ ts: '2026-11-24 10:00:00.123456' });
    await releaseLease(store.knex, b!, T0 + 2003);
    expect(await acquireLease(store.knex, 'i1', 'proc-a', 1000, T0 + 2004)).not.toBeNull();
  });

  it('fencing: a fenced commit cancels nothing and records no row error, and a commit without a lease still moves the cursor', async () => {
    await commitBatch(store.knex, { instanceId: 'i1', events: [ev('appt:1@10', { entity: 'appt:1' })], cancellations: [], rowErrors: [], now: T0 });
    const a = await acquireLease(store.knex, 'i1', 'proc-a', 1000, T0);
    await acquireLease(store.knex, 'i1', 'proc-b', 1000, T0 + 2000); // taken over
    for (const rowErrors of [[], [{ rowKey: '7', field: 'cf', message: 'bad' }]]) {
      await expect(commitBatch(store.knex, {
        instanceId: 'i1', lease: a!, events: [ev('appt:1@12', { entity: 'appt:1' })], cancellations: [], rowErrors, cursor: { ts: 'x' }, now: T0 + 2001,
      })).rejects.toBeInstanceOf(FencedError);
      expect(await store.knex('deliveries').select('state')).toEqual([{ state: 'pending' }]);
      expect(await store.knex('row_errors').count({ n: '*' })).toEqual([{ n: 0 }]);
    }
    await commitBatch(store.knex, { instanceId: 'i1', events: [], cancellations: [], rowErrors: [], cursor: { ts: 'y' }, now: T0 + 2002 });
    expect(await readCursor(store.knex, 'i1')).toEqual({ ts: 'y' });
  });

  it('claims only due, unleased work, and a lost lease cannot record', async () => {
    await commitBatch(store.knex, { instanceId: 'i1', events: [ev('now'), ev('later', { notBefore: T0 + 60_000 })], cancellations: [], rowErrors: [], now: T0 });
    const c1 = await claimDeliveries(store, { limit: 10, leaseMs: 1000, now: T0 });
    expect(c1.items.map((i) => i.event.dedup_key)).toEqual(['now']);
    expect(c1.items[0]!.data).toEqual({ n: 'now' });
    expect(c1.items[0]!.options).toEqual({ service: 'anagrafe' });
    expect((await claimDeliveries(store, { limit: 10, leaseMs: 1000, now: T0 + 1 })).items).toEqual([]);
    // Lease expired: another claimer gets it, and the first one's write is refused.
    const c2 = await claimDeliveries(store, { limit: 10, leaseMs: 1000, now: T0 + 1500 });
    expect(c2.items.map((i) => i.event.dedup_key)).toEqual(['now']);
    const id = c1.items[0]!.delivery.id;
    await expect(updateDelivery(store.knex, id, c1.token, 'pending', { state: 'sending' }, T0 + 1600)).rejects.toBeInstanceOf(LostLeaseError);
    await updateDelivery(store.knex, id, c2.token, 'pending', { state: 'sending', keepLease: true }, T0 + 1600);
    // The process dies mid-send: after the lease runs out the delivery is uncertain, not resent.
    expect(await recoverStaleSends(store.knex, T0 + 2000)).toBe(0);
    expect(await recoverStaleSends(store.knex, T0 + 3000)).toBe(1);
    expect(await store.knex('deliveries').where({ id }).first('state')).toEqual({ state: 'uncertain' });
    expect((await claimDeliveries(store, { limit: 10, leaseMs: 1000, now: T0 + 60_000 })).items.map((i) => i.event.dedup_key)).toEqual(['later']);
  });

  it('onUncertain resend: a send interrupted by a crash goes back to pending and is claimed again', async () => {
    await commitBatch(store.knex, { instanceId: 'i1', events: [ev('k1')], cancellations: [], rowErrors: [], now: T0 });
    const c1 = await claimDeliveries(store, { limit: 10, leaseMs: 1000, now: T0 });
    const id = c1.items[0]!.delivery.id;
    await updateDelivery(store.knex, id, c1.token, 'pending', { state: 'sending', attempts: 1, keepLease: true }, T0 + 10);
    expect(await recoverStaleSends(store.knex, T0 + 500, 'resend')).toBe(0);
    expect(await recoverStaleSends(store.knex, T0 + 2000, 'resend')).toBe(1);
    expect(await store.knex('deliveries').where({ id }).first('state', 'attempts', 'lease_token', 'next_attempt_at')).toEqual({ state: 'pending', attempts: 1, lease_token: null, next_attempt_at: T0 + 2000 });
    expect((await claimDeliveries(store, { limit: 10, leaseMs: 1000, now: T0 + 2000 })).items.map((i) => i.delivery.id)).toEqual([id]);
  });

  it('onUncertain resend: a claim that takes over an expired lease counts an attempt; a plain claim does not', async () => {
    await commitBatch(store.knex, { instanceId: 'i1', events: [ev('k1'), ev('k2')], cancellations: [], rowErrors: [], now: T0 });
    const claim = async (now: number, countTakeovers = true) => (await claimDeliveries(store, { limit: 10, leaseMs: 1000, now, countTakeovers })).items.map((i) => i.delivery.attempts);
    expect(await claim(T0)).toEqual([0, 0]);
    expect(await claim(T0 + 1500)).toEqual([1, 1]);
    expect(await claim(T0 + 3000, false)).toEqual([1, 1]);
    await store.knex('deliveries').update({ lease_token: null, lease_until: null });
    expect(await claim(T0 + 4000)).toEqual([1, 1]);
  });

  it('status polls are claimed ahead of an older backlog of sends, at most half a batch while sends wait', async () => {
    await commitBatch(store.knex, { instanceId: 'i1', events: Array.from({ length: 10 }, (_, i) => ev(`k${i}`)), cancellations: [], rowErrors: [], now: T0 });
    // Four sent messages whose status polls are due after the six sends still waiting since T0.
    const first = await claimDeliveries(store, { limit: 4, leaseMs: 1000, now: T0 });
    for (const it of first.items) {
      await updateDelivery(store.knex, it.delivery.id, first.token, 'pending', { state: 'sending', keepLease: true }, T0);
      await updateDelivery(store.knex, it.delivery.id, first.token, 'sending', { state: 'accepted', provider_id: 'm', next_attempt_at: T0 + 5000 }, T0);
    }
    const lanes = async (limit: number, now: number) => {
      const c = await claimDeliveries(store, { limit, leaseMs: 1, now });
      return c.items.map((i) => i.delivery.state);
    };
    expect(await lanes(4, T0 + 6000)).toEqual(['accepted', 'accepted', 'pending', 'pending']);
    // Few sends left: the rest of the batch goes to polls (a short batch must mean "nothing left").
    expect(await lanes(10, T0 + 7000)).toEqual(['accepted', 'accepted', 'accepted', 'accepted', 'pending', 'pending', 'pending', 'pending', 'pending', 'pending']);
  });

  it('illegal transitions are refused', async () => {
    await commitBatch(store.knex, { instanceId: 'i1', events: [ev('x')], cancellations: [], rowErrors: [], now: T0 });
    const c = await claimDeliveries(store, { limit: 1, leaseMs: 1000, now: T0 });
    await expect(updateDelivery(store.knex, c.items[0]!.delivery.id, c.token, 'pending', { state: 'processed' }, T0)).rejects.toThrow(/illegal transition pending → processed/);
  });
});

describe.runIf(run.includes('postgres'))('concurrent claims on postgres', () => {
  it('several claimers never get the same delivery', async () => {
    const store = await testStore('postgres');
    try {
      const events = Array.from({ length: 300 }, (_, i) => ev(`k${i}`));
      await commitBatch(store.knex, { instanceId: 'i1', events, cancellations: [], rowErrors: [], now: T0 });
      const claims = await Promise.all(Array.from({ length: 6 }, () => claimDeliveries(store, { limit: 60, leaseMs: 60_000, now: T0 })));
      const ids = claims.flatMap((c) => c.items.map((i) => i.delivery.id));
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids.length).toBe(300);
    } finally {
      await store.close();
    }
  });
});
