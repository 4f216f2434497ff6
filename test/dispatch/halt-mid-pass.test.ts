// A stop-and-alert error (e.g. WhatsApp's 190) while other sends of the same pass are under way:
// a send the provider already answered is accepted (it went out; never sent again), a send that
// had not left yet never leaves, and the halt holds at the next pass even before (or without) the
// store having recorded the alert.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import { availableDialects } from '../helpers/databases.js';
import { testStore, type TestStore } from '../helpers/store.js';
import { seedDeliveries } from '../../bench/seed-deliveries.js';
import { Dispatcher } from '../../src/dispatch/dispatcher.js';
import { dispatcherSchema } from '../../src/config/schema.js';
import { ChannelError } from '../../src/channels/channel.js';
import { activeAlerts, raiseAlert } from '../../src/store/channel-alerts.js';
import { stubChannel } from '../helpers/channel.js';

const { run } = await availableDialects(['sqlite', 'postgres']);
const TOKEN_EXPIRED = () => new ChannelError('whatsapp: 190 token expired', 'halt', { code: '190' });

/** The first two sends are held until the test answers them (ok, or with an error); later ones are answered at once. */
function heldSends() {
  const held: Array<{ ok: () => void; fail: (e: Error) => void }> = [];
  let posted = 0;
  const channel = stubChannel({
    send: () => {
      const n = ++posted;
      if (n > 2) return Promise.resolve({ providerId: `m${n}` });
      return new Promise((resolve, reject) => held.push({ ok: () => resolve({ providerId: `m${n}` }), fail: reject }));
    },
  });
  return { channel, held, posted: () => posted };
}

describe.each(run)('a halt in the middle of a pass (%s)', (dialect) => {
  let store: TestStore;
  beforeEach(async () => { store = await testStore(dialect); });
  afterEach(async () => { await store.close(); });

  const states = async () => (await store.knex('deliveries').orderBy('id').select('state', 'attempts', 'provider_id')) as Array<{ state: string; attempts: number; provider_id: string | null }>;
  const dispatcher = (channel: ReturnType<typeof stubChannel>, cfg: Record<string, unknown>) =>
    new Dispatcher({ store, channels: new Map([['appio', channel]]), cfg: dispatcherSchema.parse({ batchSize: 50, quickRetries: 0, ...cfg }), log: pino({ level: 'silent' }) });

  it('a send answered before the halt is accepted; one prepared but not yet posted is not posted', async () => {
    await seedDeliveries(store, 6);
    const { channel, held, posted } = heldSends();
    // Two requests in flight, two more deliveries prepared (`sending`) and waiting for a slot
    // (latencies that call for both: commits far slower than requests).
    const d = dispatcher(channel, { concurrency: 2, sendAhead: 2 });
    d.sendAhead.committed(5);
    d.sendAhead.sent(1);
    const drained = d.drain();
    await vi.waitFor(async () => {
      expect(held).toHaveLength(2);
      expect((await states()).filter((s) => s.state === 'sending')).toHaveLength(4);
    }, { timeout: 5000 });
    held[1]!.fail(TOKEN_EXPIRED()); // its slot frees up: a prepared send would take it
    await vi.waitFor(async () => expect(await activeAlerts(store.knex)).toHaveLength(1), { timeout: 5000 });
    held[0]!.ok(); // posted before the halt and answered 200: it did go out
    await drained;

    expect(posted()).toBe(2);
    const after = await states();
    expect(after.filter((s) => s.state === 'accepted')).toEqual([{ state: 'accepted', attempts: 1, provider_id: 'm1' }]);
    // The one the halt answered keeps its attempt; the others never left: no attempt spent.
    expect(after.filter((s) => s.state === 'pending').map((s) => s.attempts).sort()).toEqual([0, 0, 0, 0, 1]);
    expect(await store.knex('delivery_attempts').where({ kind: 'send' }).count({ n: '*' })).toEqual([{ n: 2 }]);
  });

  it('a quick retry due after the halt is not posted', async () => {
    await seedDeliveries(store, 2);
    const { channel, held, posted } = heldSends();
    const drained = dispatcher(channel, { concurrency: 2, quickRetries: 1 }).drain();
    await vi.waitFor(() => expect(held).toHaveLength(2), { timeout: 5000 });
    held[1]!.fail(TOKEN_EXPIRED());
    await vi.waitFor(async () => expect(await activeAlerts(store.knex)).toHaveLength(1), { timeout: 5000 });
    held[0]!.fail(new ChannelError('whatsapp: POST /messages → 500', 'transient', { status: 500 })); // retried in-process, but now halted
    await drained;

    expect(posted()).toBe(2);
    // Both made one request, neither went out.
    expect((await states()).map((s) => [s.state, s.attempts])).toEqual([['pending', 1], ['pending', 1]]);
  });

  it('holds at the next pass when the alert could not be recorded, and records it at a later pass', async () => {
    await seedDeliveries(store, 3);
    // The store refuses the alert (a failed or not yet committed write, as the next pass sees it).
    if (dialect === 'sqlite') {
      await store.knex.raw("create trigger refuse_alerts before insert on channel_alerts begin select raise(abort, 'alerts refused'); end");
    } else {
      await store.knex.raw("create function refuse_alerts() returns trigger language plpgsql as $$ begin raise exception 'alerts refused'; end $$");
      await store.knex.raw('create trigger refuse_alerts before insert on channel_alerts for each row execute function refuse_alerts()');
    }
    let sends = 0;
    const channel = stubChannel({
      send: async () => {
        if (++sends === 1) throw TOKEN_EXPIRED();
        return { providerId: `m${sends}` };
      },
    });
    const d = dispatcher(channel, { concurrency: 1 });
    await d.drain();
    expect(sends).toBe(1);
    expect(await activeAlerts(store.knex)).toEqual([]);
    await d.drain();
    expect(sends).toBe(1);
    expect(d.haltedChannels.has('appio')).toBe(true);

    await store.knex.raw(dialect === 'sqlite' ? 'drop trigger refuse_alerts' : 'drop trigger refuse_alerts on channel_alerts');
    await d.drain();
    expect((await activeAlerts(store.knex)).map((a) => [a.channel, a.code])).toEqual([['appio', '190']]);
    await d.drain();
    expect(sends).toBe(1);
    expect((await states()).map((s) => s.state)).toEqual(['pending', 'pending', 'pending']);
  });

  // Another process's halt, or an operator's `ponte channel halt`: the pass reads the halts again
  // at each claim, so a long pass (a backlog) stops within a batch instead of sending to its end.
  it('a halt recorded by someone else during a long pass stops it within one batch', async () => {
    await seedDeliveries(store, 400);
    let posted = 0;
    let atHalt = -1;
    const channel = stubChannel({
      send: async () => {
        if (++posted === 30) atHalt = 30;
        if (posted === 30) await raiseAlert(store.knex, 'appio', 'halted by an operator: testo sbagliato', 'operator', Date.now());
        await new Promise((r) => setTimeout(r, 2));
        return { providerId: `m${posted}` };
      },
    });
    await dispatcher(channel, { concurrency: 2, batchSize: 20 }).drain();
    expect(atHalt).toBe(30);
    // At most the rest of the batches already claimed (this one and the one read ahead) go out.
    expect(posted).toBeLessThanOrEqual(30 + 2 * 20);
    const after = await states();
    expect(after.filter((s) => s.state === 'accepted')).toHaveLength(posted);
    expect(after.filter((s) => s.state === 'pending').every((s) => s.attempts === 0)).toBe(true);
    expect(after.filter((s) => s.state === 'pending')).toHaveLength(400 - posted);
  });
});
