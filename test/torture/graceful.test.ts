// Graceful stop of the real `ponte run` (issue 6 §4): SIGTERM while sends are in flight at a slow
// IO (1 s per call), judged from what the IO sandbox received.
//  - within the grace period: no new claim, the in-flight sends finish and are recorded, the
//    connector lease is released, exit 0; a restart finishes everything exactly once;
//  - grace shorter than a send: exit 1 at the end of the grace, the sends still in flight are cut and
//    recorded `uncertain` by this run, never resent;
//  - a second SIGTERM: exit 130 at once; the next run holds the in-flight sends uncertain and
//    finishes the rest exactly once;
//  - SIGTERM during a connector poll: it stops after a committed batch, its lease is released;
//  - with onUncertain resend, a SIGKILL with sends in flight: the next run sends them again.
import { afterEach, describe, expect, it } from 'vitest';
import { dispatcherSchema } from '../../src/config/schema.js';
import { availableDialects } from '../helpers/databases.js';
import type { InFlightAtKill } from './judge.js';
import { exitWithin, sleep, type PonteProcess } from './ponte-process.js';
import { finishThenStop, stopWorld, untilPostsInFlight, type StopWorld } from './stop-world.js';

const { run, skipped } = await availableDialects(['sqlite', 'postgres']);
if (skipped.length) console.warn(`[graceful] skipped: ${skipped.join('; ')}`);

const ROWS = 8;
const CONCURRENCY = 4;
/** The product's default for this concurrency: at most this many deliveries prepared (`sending` committed) ahead of a free request slot. */
const SEND_AHEAD = dispatcherSchema.parse({ concurrency: CONCURRENCY }).sendAhead;
const LATENCY_MS = 1000;
/** A `ponte run` cannot have booted and sent within this long of its spawn (tsx alone takes ~1 s). */
const BOOT_FLOOR_MS = 300;
/** Rows enough for the first poll to take a while (page of 50: 60 committed batches). */
const BIG_POLL_ROWS = 3000;

let world: StopWorld | undefined;
afterEach(async () => { await world?.close(); world = undefined; });

/** Runs a fresh process until every delivery is final or held, then stops it with SIGTERM. */
async function finish(w: StopWorld, args: string[] = []): Promise<PonteProcess> {
  const p = w.start(args);
  await finishThenStop(w, p, ROWS, Date.now() + 45_000);
  return p;
}

describe.each(run as Array<'sqlite' | 'postgres'>)('graceful stop of `ponte run` on %s', (dialect) => {
  it('SIGTERM with sends in flight: stops claiming, records them, releases the lease, exits 0; a restart finishes exactly once', async () => {
    const w = (world = await stopWorld(dialect, { rows: ROWS, latencyMs: LATENCY_MS, concurrency: CONCURRENCY }));
    const p = w.start(['--grace-seconds', '20']);
    await untilPostsInFlight(w, p, 1);
    const claimedBefore = await w.claimedIds();
    const signalAt = Date.now();
    p.child.kill('SIGTERM');
    const claimedAfter = await w.claimedIds();
    const end = await exitWithin(p, 25_000);
    expect(end, p.tail()).toEqual({ code: 0, signal: null });

    // No new work after the signal: every POST that reached IO afterwards is for a delivery this
    // process had already claimed, and there are no more of them than it works at once (the
    // requests in flight and the sends prepared ahead of a slot, which a SIGTERM lets go out).
    const claimed = new Set([...claimedBefore, ...claimedAfter]);
    const deliveries = await w.view.deliveries();
    const idOf = new Map(deliveries.map((d) => [d.fiscalCode, d.id]));
    const late = w.postsSince(signalAt + 50);
    expect(late.length).toBeLessThanOrEqual(CONCURRENCY + SEND_AHEAD);
    expect(late.filter((fc) => !claimed.has(idOf.get(fc) ?? -1)), 'POSTs of deliveries claimed after the signal').toEqual([]);
    // The sends in flight finished and were recorded: nothing `sending` or uncertain, each POSTed
    // delivery accepted (or already processed) with the message id IO gave it.
    const posted = new Set(w.postsSince(p.spawnAt));
    expect(posted.size).toBeGreaterThan(0);
    expect(deliveries.filter((d) => d.state === 'sending' || d.state === 'uncertain')).toEqual([]);
    for (const d of deliveries.filter((x) => posted.has(x.fiscalCode))) {
      expect(['accepted', 'processed'], `delivery ${d.id}`).toContain(d.state);
      expect(w.sandbox.messages.filter((m) => m.fiscalCode === d.fiscalCode).map((m) => m.id)).toEqual([d.providerId]);
    }
    expect(deliveries.filter((d) => !posted.has(d.fiscalCode) && d.state !== 'pending')).toEqual([]);
    expect(await w.heldLeases(), 'connector leases left held').toEqual([]);
    expect(p.messages).toContain('stopping: no new work is claimed; waiting for in-flight sends');
    expect(p.messages.filter((m) => m.startsWith('grace period over'))).toEqual([]);

    const again = await finish(w);
    // The restart found nothing to recover: the stop had left nothing in flight.
    expect(again.messages.filter((m) => m.startsWith('sends interrupted by a stop'))).toEqual([]);
    const v = await w.verdict(new Map());
    expect(v.violations).toEqual([]);
    expect(v).toMatchObject({ messages: ROWS, processed: ROWS, uncertain: 0, duplicates: 0, lost: 0 });
  }, 90_000);

  it.runIf(dialect === 'sqlite')('grace shorter than a send: the sends still out are cut and recorded uncertain by this run, which exits 1; the next resends nothing', async () => {
    const w = (world = await stopWorld(dialect, { rows: ROWS, latencyMs: LATENCY_MS, concurrency: CONCURRENCY }));
    const p = w.start(['--grace-seconds', '0.2']);
    await untilPostsInFlight(w, p, 1);
    p.child.kill('SIGTERM');
    const end = await exitWithin(p, 10_000);
    expect(end, p.tail()).toEqual({ code: 1, signal: null });
    expect(p.messages).toContain('grace period over: cutting the sends still in flight; they are recorded as uncertain (held for an operator); those not yet sent stay pending');
    // What the log says is what the store says, before any other run: none left `sending`.
    expect(await w.view.sendingIds()).toEqual([]);
    const sending = await w.view.uncertainIds();
    expect(sending.length, p.tail()).toBeGreaterThan(0);
    // Only requests that had left are held: the sends prepared ahead (their `sending` committed)
    // did not take the slots the cut freed, they went back to pending.
    expect(sending.length, p.tail()).toBeLessThanOrEqual(CONCURRENCY);
    expect(p.messages.filter((m) => m.startsWith('stopping: this send had not left')).length, p.tail()).toBeGreaterThan(0);
    // The connector's lease is not the problem here: its poll had finished long before.
    expect(await w.heldLeases()).toEqual([]);

    // The POSTs that left before the exit reach IO within the latency: let them land, so that any
    // copy created later can only come from the next run.
    await sleep(LATENCY_MS);
    const inFlight = new Map<number, InFlightAtKill>();
    const again = await finish(w);
    for (const id of sending) inFlight.set(id, { kill: 1, copiesBefore: again.spawnAt + BOOT_FLOOR_MS });
    expect(again.messages.filter((m) => m.startsWith('sends interrupted by a stop'))).toEqual([]);
    const v = await w.verdict(inFlight);
    expect(v.violations).toEqual([]);
    expect(v.uncertain).toBe(sending.length);
    expect(v).toMatchObject({ processed: ROWS - sending.length, lost: 0 });
  }, 90_000);

  it.runIf(dialect === 'sqlite')('a second SIGTERM exits at once with 130; later runs pick the work up safely', async () => {
    const w = (world = await stopWorld(dialect, { rows: ROWS, latencyMs: LATENCY_MS, concurrency: CONCURRENCY }));
    const p = w.start(['--grace-seconds', '20']);
    await untilPostsInFlight(w, p, 1);
    p.child.kill('SIGTERM');
    expect(await p.waitFor(/^stopping: no new work is claimed/, 5_000), p.tail()).toBe(true);
    p.child.kill('SIGTERM');
    const end = await exitWithin(p, 1_000); // well before the 1 s sends in flight could finish
    expect(end, p.tail()).toEqual({ code: 130, signal: null });
    const sending = await w.view.sendingIds();
    expect(sending.length).toBeGreaterThan(0);

    // The POSTs that left before the exit reach IO within the latency: let them land, so that any
    // copy created later can only come from the next run.
    await sleep(LATENCY_MS);
    const inFlight = new Map<number, InFlightAtKill>();
    const again = await finish(w);
    for (const id of sending) inFlight.set(id, { kill: 1, copiesBefore: again.spawnAt + BOOT_FLOOR_MS });
    const v = await w.verdict(inFlight);
    expect(v.violations).toEqual([]);
    // Those whose request had left are held; those prepared ahead and not sent (the send journal
    // of the exited run says so) went out once with the restart.
    expect(v.uncertain + v.inFlightSentAgain).toBe(sending.length);
    expect(v).toMatchObject({ processed: ROWS - v.uncertain, lost: 0 });
  }, 90_000);

  it.runIf(dialect === 'sqlite')('onUncertain resend: after a SIGKILL with sends in flight, the next run sends them again; nothing is held, nothing lost', async () => {
    const w = (world = await stopWorld(dialect, { rows: ROWS, latencyMs: LATENCY_MS, concurrency: CONCURRENCY, onUncertain: 'resend' }));
    const p = w.start();
    await untilPostsInFlight(w, p, 1);
    p.child.kill('SIGKILL');
    await p.exited;
    // In hand at the kill: `pending` under the dead process's lease (no `sending` is written while a
    // claim is young) or `sending` (an older claim); both are sent again once the lease runs out.
    const inHand = new Set(await w.claimedIds());
    const postedBeforeKill = new Set(w.postsSince(p.spawnAt));
    expect(inHand.size, p.tail()).toBeGreaterThan(0);
    await sleep(LATENCY_MS); // let the POSTs that left before the kill land

    const again = await finish(w);
    const deliveries = await w.view.deliveries();
    expect(deliveries.map((d) => d.state)).toEqual(Array(ROWS).fill('processed'));
    const resent = deliveries.filter((d) => inHand.has(d.id) && postedBeforeKill.has(d.fiscalCode));
    expect(resent.length, 'no delivery was both in hand and POSTed at the kill: nothing tested').toBeGreaterThan(0);
    // Each of them was POSTed again by the next run: at least once, never held.
    const postedAfter = new Set(w.postsSince(again.spawnAt));
    for (const d of resent) expect(postedAfter.has(d.fiscalCode), `delivery ${d.id} sent again`).toBe(true);
    // Every citizen has a message; a second copy only where a request was in flight at the kill.
    for (const d of deliveries) {
      const copies = w.sandbox.messages.filter((m) => m.fiscalCode === d.fiscalCode);
      expect(copies.length, `delivery ${d.id}`).toBeGreaterThanOrEqual(1);
      if (copies.length > 1) expect(resent.map((r) => r.id), `delivery ${d.id}: ${copies.length} copies`).toContain(d.id);
      expect(copies.map((m) => m.id)).toContain(d.providerId);
    }
  }, 90_000);

  it.runIf(dialect === 'sqlite')('SIGTERM during a connector poll: the poll stops after a committed batch, its run is recorded, the lease released, exit 0; a restart reads the rest', async () => {
    const w = (world = await stopWorld(dialect, { rows: BIG_POLL_ROWS, latencyMs: 40, concurrency: CONCURRENCY }));
    const p = w.start(['--grace-seconds', '20']);
    expect(await p.waitFor(/^poll started$/, 30_000), p.tail()).toBe(true);
    p.child.kill('SIGTERM');
    expect(await exitWithin(p, 25_000), p.tail()).toEqual({ code: 0, signal: null });
    expect(p.messages.filter((m) => m === 'poll started')).toHaveLength(1);
    expect(p.messages, p.tail()).toContain('poll interrupted after a committed batch; the next poll resumes from there');
    expect(await w.heldLeases()).toEqual([]);
    expect(await w.store()('connector_runs').whereNot('status', 'ok').select('id', 'status', 'error')).toEqual([]);
    const events = (await w.view.progress()).events;
    expect(events).toBeGreaterThan(0);
    expect(events, 'the poll ran to its end: no interruption tested').toBeLessThan(BIG_POLL_ROWS);

    const again = w.start(['--grace-seconds', '20']);
    const until = Date.now() + 30_000;
    while (Date.now() < until && (await w.view.progress()).events < BIG_POLL_ROWS) await sleep(200);
    expect((await w.view.progress()).events, again.tail()).toBe(BIG_POLL_ROWS);
    again.child.kill('SIGKILL'); // its sends are not this test's subject
    await again.exited;
  }, 90_000);
});
