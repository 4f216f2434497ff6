// The SQLite group commit syncs its write-ahead log off Node's thread: its callers (a `sending`
// about to let a request leave) must hear of the commit only once the log is on disk, and every
// other write on the connection must still commit with synchronous FULL.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { fstatSync, statSync } from 'node:fs';
import { join } from 'node:path';

// fdatasync held until the test lets it go, to see what waits for it.
const syncs = vi.hoisted(() => ({ held: [] as Array<{ fd: number; done: (e: Error | null) => void }>, hold: false }));
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  return {
    ...fs,
    fdatasync: (fd: number, cb: (e: Error | null) => void) => {
      if (syncs.hold) syncs.held.push({ fd, done: cb });
      else fs.fdatasync(fd, cb);
    },
  };
});

const { openStore, migrateLatest } = await import('../../src/store/db.js');
const { commitBatch } = await import('../../src/store/commit-batch.js');
const { claimDeliveries } = await import('../../src/store/claim-deliveries.js');
const { DeliveryWriter } = await import('../../src/store/write-deliveries.js');
const { tempDir } = await import('../helpers/temp-dir.js');

const T0 = Date.UTC(2026, 11, 8, 9, 0, 0);
type OpenStore = ReturnType<typeof openStore>;

async function claimedStore(n: number): Promise<{ store: OpenStore; file: string; token: string; ids: number[] }> {
  const file = join(tempDir('sqlite-commit'), 'store.sqlite');
  const store = openStore({ client: 'sqlite', filename: file });
  await migrateLatest(store);
  await commitBatch(store.knex, {
    instanceId: 'i', cancellations: [], rowErrors: [], now: T0,
    events: Array.from({ length: n }, (_, i) => ({
      key: `k${i}`, type: 'appointment.reminder', fiscalCode: 'RSSMRA80A01H501U', data: {},
      route: { mode: 'first' as const, steps: [{ channel: 'appio', options: {} }] },
      deliveries: [{ channel: 'appio', options: {}, routeIndex: 0, address: null }],
    })),
  });
  const { token, items } = await claimDeliveries(store, { limit: n, leaseMs: 60_000, now: T0 });
  return { store, file, token, ids: items.map((i) => i.delivery.id) };
}

const synchronous = async (store: OpenStore): Promise<unknown> => ((await store.knex.raw('pragma synchronous')) as Array<{ synchronous: number }>)[0]!.synchronous;

describe('SQLite group commit (WAL, synchronous FULL)', () => {
  let store: OpenStore | undefined;
  afterEach(async () => {
    syncs.hold = false;
    for (const s of syncs.held.splice(0)) s.done(null);
    await store?.close();
    store = undefined;
  });

  it('tells its callers of the commit only once the write-ahead log is synced, and syncs that file', async () => {
    const claimed = await claimedStore(3);
    store = claimed.store;
    const writer = new DeliveryWriter(store);
    syncs.hold = true;
    let told = 0;
    const writes = claimed.ids.map((id) => writer.write(id, claimed.token, 'pending', { state: 'sending', attempts: 1, keepLease: true }, T0 + 1).then(() => { told++; }));
    await vi.waitFor(() => expect(syncs.held).toHaveLength(1));
    // Committed (another read sees it), but not yet on disk: nobody may send on it yet.
    expect((await store.knex('deliveries').whereIn('id', claimed.ids).pluck('state')).sort()).toEqual(['sending', 'sending', 'sending']);
    await new Promise((r) => setTimeout(r, 50));
    expect(told).toBe(0);
    expect(fstatSync(syncs.held[0]!.fd).ino).toBe(statSync(`${claimed.file}-wal`).ino);
    expect(await synchronous(store)).toBe(2); // the connection's other writes still sync as they commit
    syncs.held.shift()!.done(null);
    await Promise.all(writes);
    expect(told).toBe(3);
    expect(writer.stats).toMatchObject({ commits: 1, rows: 3 });
  });

  // A failed sync (the disk failing) leaves the rows committed in the page cache: their deliveries
  // stay `sending` and are held uncertain when the lease runs out (or due again if the send journal
  // shows the request never left), as after a crash; never sent twice.
  it('a failed sync fails the writes it covered; a failed statement rolls the whole flush back and leaves FULL set', async () => {
    const claimed = await claimedStore(3);
    store = claimed.store;
    const [a, b, c] = claimed.ids as [number, number, number];
    const writer = new DeliveryWriter(store);
    syncs.hold = true;
    const synced = writer.write(a, claimed.token, 'pending', { state: 'sending', keepLease: true }, T0 + 1);
    await vi.waitFor(() => expect(syncs.held).toHaveLength(1));
    syncs.held.shift()!.done(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
    await expect(synced).rejects.toThrow(/EIO/);
    syncs.hold = false;

    // A flush of two shapes whose second statement fails (a column it sets renamed away): the
    // first one's row is rolled back with it.
    await store.knex.raw('alter table deliveries rename column sent_at to sent_at_moved');
    const both = await Promise.allSettled([
      writer.write(b, claimed.token, 'pending', { state: 'sending', keepLease: true }, T0 + 2),
      writer.write(c, claimed.token, 'pending', { state: 'accepted', provider_id: 'm', sent_at: T0 + 2, next_attempt_at: T0 + 10 }, T0 + 2),
    ]);
    expect(both.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(await store.knex('deliveries').whereIn('id', [b, c]).pluck('state')).toEqual(['pending', 'pending']);
    expect(await synchronous(store)).toBe(2);
  });
});
