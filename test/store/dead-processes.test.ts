// A Ponte process killed on this machine leaves claims behind; the next process's heartbeat asks the
// kernel whether its pid is gone and, only then, releases them (deliveries and connector leases).
// Claims of processes alive, elsewhere, or beating until a moment ago are left to their leases.
import { spawn } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testStore, type TestStore } from '../helpers/store.js';
import { availableDialects } from '../helpers/databases.js';
import { seedDeliveries } from '../../bench/seed-deliveries.js';
import { claimDeliveries } from '../../src/store/claim-deliveries.js';
import { heartbeat } from '../../src/store/processes.js';
import { releaseDeadNeighbours, resendUnsentOfGone, type Journals } from '../../src/store/dead-processes.js';
import { recoverStaleSends } from '../../src/store/recover-stale.js';
import { localHostKey, pidGone } from '../../src/util/process-identity.js';

const { run, skipped } = await availableDialects(['sqlite', 'postgres']);
if (skipped.length) console.warn(`[dead-processes] skipped: ${skipped.join('; ')}`);

const HOST = 'a'.repeat(32);
const LEASE_MS = 120_000;

describe('pidGone', () => {
  it('is true for a child that has exited, false for a live process', async () => {
    const child = spawn(process.execPath, ['-e', '']);
    await new Promise((ok) => child.on('exit', ok));
    expect(pidGone(child.pid!)).toBe(true);
    expect(pidGone(process.pid)).toBe(false);
  });

  it.runIf(process.platform === 'linux')('has a host key on Linux, the same on every call', () => {
    expect(localHostKey()).toMatch(/^[0-9a-f]{32}$/);
    expect(localHostKey()).toBe(localHostKey());
  });
});

describe.each(run)('releasing the claims of dead processes on %s', (dialect) => {
  let store: TestStore;
  beforeEach(async () => { store = await testStore(dialect); });
  afterEach(async () => { await store.close(); });

  it('releases the claims of a gone pid on this host only, once', async () => {
    await seedDeliveries(store, 30);
    const now = Date.now() + 1; // the seeded deliveries are due by now
    const claim = (tag: string, limit: number) => claimDeliveries(store, { limit, leaseMs: LEASE_MS, now, tokenPrefix: tag });
    const dead = await claim('dead0000', 10);
    const alive = await claim('alive000', 10);
    const elsewhere = await claim('else0000', 5);
    const fresh = await claim('fresh000', 2);
    // One of the dead process's sends was in flight: `sending` under its claim.
    const inFlight = dead.items[0]!.delivery.id;
    await store.knex('deliveries').where({ id: inFlight }).update({ state: 'sending' });
    const beatAgo = now - 10_000;
    await heartbeat(store.knex, 'vm:101:x', beatAgo, { hostKey: HOST, pid: 101, claimTag: 'dead0000' });
    await heartbeat(store.knex, 'vm:102:y', beatAgo, { hostKey: HOST, pid: 102, claimTag: 'alive000' });
    await heartbeat(store.knex, 'other:103:z', beatAgo, { hostKey: 'b'.repeat(32), pid: 103, claimTag: 'else0000' });
    // Its pid looks gone too, but it beat a moment ago: a machine sharing our host key (a cloned
    // VM) with a live process on it. Left to its leases.
    await heartbeat(store.knex, 'vm:104:w', now - 500, { hostKey: HOST, pid: 104, claimTag: 'fresh000' });
    // Silent for over an hour: no lease of its can still hold, not looked at.
    await heartbeat(store.knex, 'vm:105:v', now - 3_700_000, { hostKey: HOST, pid: 105, claimTag: 'old00000' });
    for (const [id, owner] of [['c-dead', 'vm:101:x'], ['c-alive', 'vm:102:y'], ['c-else', 'other:103:z']] as const) {
      await store.knex('connector_state').insert({ instance_id: id, lease_owner: owner, lease_epoch: 1, lease_expires_at: now + LEASE_MS, updated_at: now });
    }
    const gone = (pid: number) => pid !== 102; // 103 is gone too, but on another machine: not ours to judge
    const seen = new Set<string>();

    const released = await releaseDeadNeighbours(store.knex, { owner: 'vm:200:me', hostKey: HOST }, now, gone, seen);
    expect(released).toEqual([{ owner: 'vm:101:x', pid: 101, by: 'pid', deliveries: 10, connectors: ['c-dead'] }]);
    expect([...seen].sort()).toEqual(['vm:101:x']);

    const leased = async () => (await store.knex('deliveries').where('lease_until', '>=', now).pluck('id')).map(Number).sort((a, b) => a - b);
    const ids = (c: typeof dead) => c.items.map((i) => i.delivery.id).sort((a, b) => a - b);
    expect(await leased()).toEqual([...ids(alive), ...ids(elsewhere), ...ids(fresh)].sort((a, b) => a - b));
    const held = (await store.knex('connector_state').where('lease_expires_at', '>=', now).pluck('instance_id')) as string[];
    expect(held.sort()).toEqual(['c-alive', 'c-else']);

    // Another process claims now: the dead one's pending deliveries come to it (the `sending`
    // one is left to the dispatcher's recovery, which holds it uncertain).
    const next = await claimDeliveries(store, { limit: 30, leaseMs: LEASE_MS, now, tokenPrefix: 'me000000' });
    const taken = new Set([...ids(dead), ...ids(alive), ...ids(elsewhere), ...ids(fresh)]);
    const neverClaimed = ((await store.knex('deliveries').pluck('id')) as unknown[]).map(Number).filter((id) => !taken.has(id));
    expect(neverClaimed).toHaveLength(3);
    expect(ids(next)).toEqual([...ids(dead).filter((id) => id !== inFlight), ...neverClaimed].sort((a, b) => a - b));

    // Handled once: the next beat does not scan for it again; a neighbour that dies later is released then.
    expect(await releaseDeadNeighbours(store.knex, { owner: 'vm:200:me', hostKey: HOST }, now, gone, seen)).toEqual([]);
    expect((await releaseDeadNeighbours(store.knex, { owner: 'vm:200:me', hostKey: HOST }, now, () => true, seen)).map((r) => r.owner)).toEqual(['vm:102:y']);
  });

  it('after a release, sends again each `sending` its send journal shows never left, holds the ones it shows sent uncertain, and knows nothing without a journal', async () => {
    await seedDeliveries(store, 8);
    const now = Date.now() + 1;
    const dead = await claimDeliveries(store, { limit: 4, leaseMs: LEASE_MS, now, tokenPrefix: 'dead0000' });
    const blind = await claimDeliveries(store, { limit: 4, leaseMs: LEASE_MS, now, tokenPrefix: 'blind000' });
    const [sent, notSent, retried, claimed] = dead.items.map((i) => i.delivery.id) as [number, number, number, number];
    // `sending` writes its attempt; the journal has the attempts whose request left.
    await store.knex('deliveries').whereIn('id', [sent, notSent]).update({ state: 'sending', attempts: 1 });
    await store.knex('deliveries').where({ id: retried }).update({ state: 'sending', attempts: 2 }); // its first try left, this one not
    await store.knex('deliveries').whereIn('id', blind.items.map((i) => i.delivery.id)).update({ state: 'sending', attempts: 1 });
    await heartbeat(store.knex, 'vm:101:x', now - 10_000, { hostKey: HOST, pid: 101, claimTag: 'dead0000' });
    await heartbeat(store.knex, 'vm:102:y', now - 10_000, { hostKey: HOST, pid: 102, claimTag: 'blind000' });
    const removed: string[] = [];
    const journals: Journals = {
      read: (tag) => (tag === 'dead0000' ? new Set([`${sent}.1`, `${retried}.1`, '999999.1']) : null),
      remove: (tag) => void removed.push(tag),
    };

    // The release ends the claims; the pass it triggers reads the journals before its recovery of stale sends.
    const released = await releaseDeadNeighbours(store.knex, { owner: 'vm:200:me', hostKey: HOST }, now, () => true, new Set());
    expect(released.map(({ owner, deliveries }) => ({ owner, deliveries }))).toEqual([
      { owner: 'vm:101:x', deliveries: 4 },
      { owner: 'vm:102:y', deliveries: 4 },
    ]);
    expect(removed).toEqual([]);
    expect(await resendUnsentOfGone(store.knex, { hostKey: HOST }, now, () => true, journals)).toBe(2);
    expect(removed).toEqual(['dead0000']); // read once, then gone; the blind process left none

    // The dispatcher's recovery then holds what may have left; the rest is claimable, its attempt not spent.
    expect(await recoverStaleSends(store.knex, now)).toBe(5);
    const rows = new Map(((await store.knex('deliveries').select('id', 'state', 'attempts')) as Array<{ id: number; state: string; attempts: number }>).map((r) => [Number(r.id), r]));
    expect(rows.get(sent)).toMatchObject({ state: 'uncertain', attempts: 1 });
    expect(rows.get(notSent)).toMatchObject({ state: 'pending', attempts: 0 });
    expect(rows.get(retried)).toMatchObject({ state: 'pending', attempts: 1 });
    for (const d of blind.items) expect(rows.get(d.delivery.id)).toMatchObject({ state: 'uncertain' }); // no journal: nothing known
    const next = await claimDeliveries(store, { limit: 8, leaseMs: LEASE_MS, now, tokenPrefix: 'me000000' });
    expect(next.items.map((i) => i.delivery.id).filter((id) => dead.items.some((d) => d.delivery.id === id)).sort((a, b) => a - b))
      .toEqual([notSent, retried, claimed].sort((a, b) => a - b));
  });

  it('checks stale sends against the journal of a gone process on this host before they are held uncertain (a claim can run out before the release)', async () => {
    await seedDeliveries(store, 8);
    const now = Date.now() + 1;
    const shortLease = 1_000;
    const claim = (tag: string) => claimDeliveries(store, { limit: 2, leaseMs: shortLease, now, tokenPrefix: tag });
    const byTag = { gone: await claim('gone0000'), alive: await claim('alive000'), away: await claim('away0000'), blind: await claim('blind000') };
    await store.knex('deliveries').whereNotNull('lease_token').update({ state: 'sending', attempts: 1 });
    await heartbeat(store.knex, 'vm:101:x', now, { hostKey: HOST, pid: 101, claimTag: 'gone0000' });
    await heartbeat(store.knex, 'vm:102:y', now, { hostKey: HOST, pid: 102, claimTag: 'alive000' });
    await heartbeat(store.knex, 'other:103:z', now, { hostKey: 'b'.repeat(32), pid: 103, claimTag: 'away0000' });
    await heartbeat(store.knex, 'vm:104:w', now, { hostKey: HOST, pid: 104, claimTag: 'blind000' });
    const [sent, notSent] = byTag.gone.items.map((i) => i.delivery.id) as [number, number];
    // Every journal here says "nothing sent" but the gone one's, which has its first delivery; the blind one left none.
    const journals: Journals = { read: (tag) => (tag === 'gone0000' ? new Set([`${sent}.1`]) : tag === 'blind000' ? null : new Set()), remove: () => undefined };
    const later = now + shortLease + 1;

    // Claims not yet run out: not stale, nothing looked at.
    expect(await resendUnsentOfGone(store.knex, { hostKey: HOST }, now, (pid) => pid !== 102, journals)).toBe(0);
    expect(await resendUnsentOfGone(store.knex, { hostKey: HOST }, later, (pid) => pid !== 102, journals)).toBe(1);
    expect(await resendUnsentOfGone(store.knex, { hostKey: null }, later, () => true, journals)).toBe(0);
    const states = async (c: { items: Array<{ delivery: { id: number } }> }) =>
      ((await store.knex('deliveries').whereIn('id', c.items.map((i) => i.delivery.id)).orderBy('id').pluck('state')) as string[]);
    expect(await states(byTag.gone)).toEqual(sent < notSent ? ['sending', 'pending'] : ['pending', 'sending']);
    // Alive (it may still send), on another machine, or without a journal: left to the recovery (uncertain).
    for (const c of [byTag.alive, byTag.away, byTag.blind]) expect(await states(c)).toEqual(['sending', 'sending']);
    expect(await recoverStaleSends(store.knex, later)).toBe(7);
  });

  it('releases, and reads the journal of, a process whose alive socket is closed, whatever its host key and pid (a container restarted in a new pid namespace)', async () => {
    await seedDeliveries(store, 9);
    const now = Date.now() + 1;
    const claim = (tag: string) => claimDeliveries(store, { limit: 3, leaseMs: LEASE_MS, now, tokenPrefix: tag });
    const [boxed, live, quiet] = [await claim('box00000'), await claim('live0000'), await claim('quiet000')];
    const [sent, notSent] = boxed.items.map((i) => i.delivery.id) as [number, number];
    await store.knex('deliveries').whereIn('id', [sent, notSent]).update({ state: 'sending', attempts: 1 });
    // Each ran as pid 1 of its own pid namespace: other host keys, and pid 1 is alive everywhere.
    await heartbeat(store.knex, 'ct:1:a', now - 10_000, { hostKey: 'c'.repeat(32), pid: 1, claimTag: 'box00000' });
    await heartbeat(store.knex, 'ct:1:b', now - 10_000, { hostKey: 'd'.repeat(32), pid: 1, claimTag: 'live0000' });
    // Silent a moment only: even a closed socket is not asked before SILENT_MS (a heartbeat late is no death).
    await heartbeat(store.knex, 'ct:1:c', now - 500, { hostKey: 'e'.repeat(32), pid: 1, claimTag: 'quiet000' });
    const asked: string[] = [];
    const socketGone = async (tag: string) => { asked.push(tag); return tag !== 'live0000'; };
    const pidAlive = () => false;

    // Without the socket check nothing of another host key is looked at, as before.
    expect(await releaseDeadNeighbours(store.knex, { owner: 'vm:200:me', hostKey: HOST }, now, pidAlive, new Set())).toEqual([]);
    const released = await releaseDeadNeighbours(store.knex, { owner: 'vm:200:me', hostKey: HOST }, now, pidAlive, new Set(), socketGone);
    expect(released).toEqual([{ owner: 'ct:1:a', pid: 1, by: 'socket', deliveries: 3, connectors: [] }]);
    expect(asked.sort()).toEqual(['box00000', 'live0000']);
    const leasedOf = async (c: typeof boxed) => Number((await store.knex('deliveries').whereIn('id', c.items.map((i) => i.delivery.id)).where('lease_until', '>=', now).count({ n: '*' }).first())!.n);
    expect([await leasedOf(boxed), await leasedOf(live), await leasedOf(quiet)]).toEqual([0, 3, 3]);

    const removed: string[] = [];
    const journals: Journals = { read: (tag) => (tag === 'box00000' ? new Set([`${sent}.1`]) : null), remove: (tag) => void removed.push(tag) };
    expect(await resendUnsentOfGone(store.knex, { hostKey: HOST }, now, pidAlive, journals)).toBe(0); // its pid says nothing
    expect(await resendUnsentOfGone(store.knex, { hostKey: HOST }, now, pidAlive, { ...journals, socketGone })).toBe(1);
    expect(removed).toEqual(['box00000']);
    expect(await recoverStaleSends(store.knex, now)).toBe(1);
    const state = async (id: number) => (await store.knex('deliveries').where({ id }).first('state', 'attempts'));
    expect(await state(sent)).toMatchObject({ state: 'uncertain', attempts: 1 });
    expect(await state(notSent)).toMatchObject({ state: 'pending', attempts: 0 });
  });

  it('leaves every claim to its lease when a gone process\'s tag is not one Ponte writes (a LIKE wildcard)', async () => {
    await seedDeliveries(store, 6);
    const now = Date.now() + 1;
    await claimDeliveries(store, { limit: 3, leaseMs: LEASE_MS, now, tokenPrefix: 'a1b2c3d4e5f6' });
    await claimDeliveries(store, { limit: 3, leaseMs: LEASE_MS, now, tokenPrefix: 'f6e5d4c3b2a1' });
    // Live processes, and rows written by something else, with a gone pid and a pattern for a tag.
    await heartbeat(store.knex, 'vm:102:y', now - 1_000, { hostKey: HOST, pid: 102, claimTag: 'a1b2c3d4e5f6' });
    await heartbeat(store.knex, 'vm:103:z', now - 1_000, { hostKey: HOST, pid: 103, claimTag: 'f6e5d4c3b2a1' });
    await heartbeat(store.knex, 'vm:101:x', now - 1_000, { hostKey: HOST, pid: 101, claimTag: '%' });
    await heartbeat(store.knex, 'vm:104:w', now - 1_000, { hostKey: HOST, pid: 104, claimTag: 'a1b2c3d4e5f_' });
    await heartbeat(store.knex, 'vm:105:v', now - 1_000, { hostKey: HOST, pid: 105, claimTag: '' });
    const gone = (pid: number) => pid === 101 || pid === 104 || pid === 105;
    expect(await releaseDeadNeighbours(store.knex, { owner: 'vm:200:me', hostKey: HOST }, now, gone, new Set())).toEqual([]);
    expect(Number((await store.knex('deliveries').where('lease_until', '>=', now).count({ n: '*' }).first())!.n)).toBe(6);
  });

  it('does nothing where the machine cannot be identified', async () => {
    await seedDeliveries(store, 3);
    const now = Date.now() + 1;
    await claimDeliveries(store, { limit: 3, leaseMs: LEASE_MS, now, tokenPrefix: 'dead0000' });
    await heartbeat(store.knex, 'vm:101:x', now - 10_000, { hostKey: null, pid: 101, claimTag: 'dead0000' });
    expect(await releaseDeadNeighbours(store.knex, { owner: 'vm:200:me', hostKey: null }, now, () => true, new Set())).toEqual([]);
    expect(Number((await store.knex('deliveries').where('lease_until', '>=', now).count({ n: '*' }).first())!.n)).toBe(3);
  });
});
