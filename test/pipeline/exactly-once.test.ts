// The pipeline's promises, judged from the sandbox's own record of what IO received:
// one message per event, never two, never none — across repeated polls and crashes.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { availableDialects } from '../helpers/databases.js';
import { makePipeline, reminder, citizen, type Pipeline } from '../helpers/pipeline.js';
import { SimulatedCrash, throwingCrashPoint } from '../../src/util/crash-point.js';
import { operatorAction } from '../../src/store/operator.js';

const { run, skipped } = await availableDialects(['sqlite', 'postgres']);
if (skipped.length) console.warn(`[pipeline] skipped: ${skipped.join('; ')}`);

describe.each(run)('pipeline on %s', (dialect) => {
  let p: Pipeline;
  beforeEach(async () => { p = await makePipeline(dialect); });
  afterEach(async () => { await p.close(); });

  it('polling the same back-office twice sends each reminder once, and each ends PROCESSED', async () => {
    p.backoffice.events = [reminder(1), reminder(2), reminder(3)];
    expect((await p.poll()).eventsNew).toBe(3);
    const second = await p.poll();
    expect(second).toMatchObject({ status: 'ok', eventsNew: 0, eventsDuplicate: 3 });
    await p.settle();
    await p.poll();
    await p.settle();
    expect(p.sandbox.messages.map((m) => m.fiscalCode).sort()).toEqual([citizen(1), citizen(2), citizen(3)].sort());
    expect(p.sandbox.messages.every((m) => m.status === 'PROCESSED' && m.service === 'test-key')).toBe(true);
    expect(await p.states()).toEqual({ 'test:1': 'processed', 'test:2': 'processed', 'test:3': 'processed' });
    const sent = p.sandbox.messages.find((m) => m.fiscalCode === citizen(2))!;
    expect(sent.subject).toBe("Promemoria del Comune: l'appuntamento numero 2");
    const ids = await p.store.knex('deliveries').pluck('provider_id');
    expect(ids.sort()).toEqual(p.sandbox.messages.map((m) => m.id).sort());
  });

  it('a crash between poll and commit loses nothing and sends nothing twice', async () => {
    p.backoffice.events = [reminder(1), reminder(2)];
    await expect(p.poll({ crashPoint: throwingCrashPoint('poll-before-commit') })).rejects.toBeInstanceOf(SimulatedCrash);
    expect(await p.store.knex('events').count({ n: '*' })).toEqual([{ n: 0 }]);
    // The dead process's lease blocks a new poll until it expires (60 s by default), not longer.
    expect((await p.poll({ owner: 'proc-2' })).status).toBe('busy');
    expect((await p.poll({ owner: 'proc-2', clock: () => Date.now() + 50_000 })).status).toBe('busy');
    const later = () => Date.now() + 61_000;
    expect((await p.poll({ owner: 'proc-2', clock: later })).eventsNew).toBe(2);
    await p.settle({ clock: later });
    expect(p.sandbox.messages).toHaveLength(2);
  });

  it('a connector\'s leaseSeconds is how long a dead poller holds it', async () => {
    p.instance.settings.leaseSeconds = 15;
    p.backoffice.events = [reminder(1)];
    const before = Date.now();
    await expect(p.poll({ crashPoint: throwingCrashPoint('poll-before-commit') })).rejects.toBeInstanceOf(SimulatedCrash);
    const after = Date.now();
    const busy = await p.poll({ owner: 'proc-2', clock: () => Date.now() + 10_000 });
    // It names the holder and when its lease runs out, so a dead holder is told from a live poll.
    expect(busy).toMatchObject({ status: 'busy', heldBy: 'test-proc' });
    expect(busy.heldUntil).toBeGreaterThanOrEqual(before + 15_000);
    expect(busy.heldUntil).toBeLessThanOrEqual(after + 15_000);
    expect((await p.poll({ owner: 'proc-2', clock: () => Date.now() + 16_000 })).eventsNew).toBe(1);
  });

  it('a crash after the POST leaves the delivery uncertain, never resent', async () => {
    p.backoffice.events = [reminder(1), reminder(2)];
    await p.poll();
    // One delivery worked at a time: a simulated crash is a throw, and a send prepared ahead
    // (sendAhead) in the same process would still go out after it, as a killed process's would not.
    const crashing = p.dispatcher({ crashPoint: throwingCrashPoint('after-post'), cfg: { concurrency: 1, sendAhead: 0 } });
    await expect(crashing.drain()).rejects.toBeInstanceOf(SimulatedCrash);
    expect(p.sandbox.messages).toHaveLength(1);
    // A new process, after the dead one's claim ran out.
    await p.settle({ clock: () => Date.now() + 60_000 });
    expect(Object.values(await p.states()).sort()).toEqual(['processed', 'uncertain']);
    expect(p.sandbox.messages).toHaveLength(2); // the other event went out; the uncertain one was not resent
    const uncertain = await p.store.knex('deliveries').where({ state: 'uncertain' }).first();
    expect(uncertain.reason).toMatch(/may or may not have reached/);
  });

  it('an uncertain send is resolved only by an operator: confirm tracks it, resend sends again', async () => {
    p.backoffice.events = [reminder(1), reminder(2)];
    await p.poll();
    await expect(p.dispatcher({ crashPoint: throwingCrashPoint('after-post', 0), cfg: { concurrency: 1, sendAhead: 0 } }).drain()).rejects.toBeInstanceOf(SimulatedCrash);
    await p.settle({ clock: () => Date.now() + 60_000 });
    await expect(p.dispatcher({ crashPoint: throwingCrashPoint('after-post', 0), cfg: { concurrency: 1, sendAhead: 0 } }).drain()).resolves.toMatchObject({ processed: 0 });
    const [a] = await p.store.knex('deliveries').where({ state: 'uncertain' }).pluck('id');
    expect(a).toBeDefined();
    // Repeated drains never touch it.
    await p.settle();
    expect(p.sandbox.messages).toHaveLength(2);
    // The operator finds the message at IO (here: the sandbox's record) and confirms it.
    const [uncertainEvent] = await p.store.knex('events as e').join('deliveries as d', 'd.event_id', 'e.id').where('d.id', a).pluck('e.fiscal_code');
    const atIo = p.sandbox.messages.find((m) => m.fiscalCode === uncertainEvent)!;
    await expect(operatorAction(p.store.knex, a, 'cancel', {})).resolves.toBe('cancelled');
    await expect(operatorAction(p.store.knex, a, 'confirm', { providerId: atIo.id })).rejects.toThrow(/is cancelled: cannot confirm/);
    // A second scenario on a fresh delivery: resend is the operator's explicit decision.
    p.backoffice.events = [reminder(3)];
    await p.poll();
    await expect(p.dispatcher({ crashPoint: throwingCrashPoint('after-post', 0), cfg: { concurrency: 1, sendAhead: 0 } }).drain()).rejects.toBeInstanceOf(SimulatedCrash);
    await p.settle({ clock: () => Date.now() + 60_000 });
    const [b] = await p.store.knex('deliveries').where({ state: 'uncertain' }).pluck('id');
    await expect(operatorAction(p.store.knex, b, 'resend', { note: 'citizen says nothing arrived' })).resolves.toBe('pending');
    await p.settle();
    expect(p.sandbox.messages.filter((m) => m.fiscalCode === citizen(3))).toHaveLength(2);
    expect(await p.store.knex('deliveries').where({ id: b }).first('state', 'reason')).toEqual({ state: 'processed', reason: 'resent by an operator: citizen says nothing arrived' });
    // And confirm: a third one, confirmed with the id IO had created.
    p.backoffice.events = [reminder(4)];
    await p.poll();
    await expect(p.dispatcher({ crashPoint: throwingCrashPoint('after-post', 0), cfg: { concurrency: 1, sendAhead: 0 } }).drain()).rejects.toBeInstanceOf(SimulatedCrash);
    await p.settle({ clock: () => Date.now() + 60_000 });
    const [c] = await p.store.knex('deliveries').where({ state: 'uncertain' }).pluck('id');
    const created = p.sandbox.messages.find((m) => m.fiscalCode === citizen(4))!;
    // A mistyped id is refused before anything changes (polled, it would end the delivery FAILED).
    await expect(operatorAction(p.store.knex, c, 'confirm', { providerId: created.id.slice(0, 20) })).rejects.toThrow(/is not an IO message id .*nothing was changed/);
    expect((await p.store.knex('deliveries').where({ id: c }).first('state')).state).toBe('uncertain');
    await expect(operatorAction(p.store.knex, c, 'confirm', { providerId: created.id, note: 'found at IO' })).resolves.toBe('accepted');
    await p.settle();
    expect(await p.store.knex('deliveries').where({ id: c }).first('state', 'provider_id')).toEqual({ state: 'processed', provider_id: created.id });
    expect(p.sandbox.messages.filter((m) => m.fiscalCode === citizen(4))).toHaveLength(1);
    // The operator's decisions are in each delivery's history, which the next state change keeps.
    const history = async (id: number) => (await p.store.knex('delivery_attempts').where({ delivery_id: id, kind: 'operator' }).select('outcome', 'error')) as Array<{ outcome: string; error: string }>;
    expect(await history(c)).toEqual([{ outcome: 'confirm', error: `uncertain → accepted as message ${created.id}: found at IO` }]);
    expect(await history(b)).toEqual([{ outcome: 'resend', error: 'uncertain → pending: citizen says nothing arrived' }]);
  });

  it('a crash after the claim, before any request, loses nothing', async () => {
    p.backoffice.events = [reminder(1)];
    await p.poll();
    await expect(p.dispatcher({ crashPoint: throwingCrashPoint('after-claim') }).drain()).rejects.toBeInstanceOf(SimulatedCrash);
    expect(p.sandbox.requests).toHaveLength(0);
    await p.settle({ clock: () => Date.now() + 60_000 });
    expect(p.sandbox.messages).toHaveLength(1);
    expect(await p.states()).toEqual({ 'test:1': 'processed' });
  });

  it('reschedule supersedes the pending reminder; cancel cancels it', async () => {
    const later = Date.now() + 3_600_000;
    p.backoffice.events = [reminder(1, { key: 'appt:1@10', entity: 'appt:1', notBefore: new Date(later) }), reminder(2, { key: 'appt:2@11', entity: 'appt:2', notBefore: new Date(later) })];
    await p.poll();
    p.backoffice.events = [reminder(1, { key: 'appt:1@12', entity: 'appt:1' })];
    p.backoffice.cancellations = [{ entity: 'appt:2', reason: 'appointment cancelled in the back-office' }];
    expect((await p.poll()).cancelled).toBe(2);
    await p.settle({ clock: () => Date.now() });
    expect(await p.states()).toEqual({ 'appt:1@10': 'cancelled', 'appt:1@12': 'processed', 'appt:2@11': 'cancelled' });
    expect(p.sandbox.messages).toHaveLength(1);
  });

  it('a cancellation that lands after the claim, during the profile check, stops the send', async () => {
    // The guarded `sending` write is where a claimed delivery learns that the back-office withdrew
    // it (docs/performance.md, "evening": why the claim itself does not write `sending`).
    p.backoffice.events = [reminder(1, { key: 'appt:1@10', entity: 'appt:1' })];
    await p.poll();
    const real = p.channels.get('appio')!;
    let cancelled = 0;
    p.channels.set('appio', new Proxy(real, {
      get(target, key) {
        if (key === 'checkRecipient') {
          return async (ctx: Parameters<typeof real.checkRecipient>[0]) => {
            p.backoffice.events = [];
            p.backoffice.cancellations = [{ entity: 'appt:1', reason: 'appointment cancelled in the back-office' }];
            cancelled = (await p.poll()).cancelled;
            return target.checkRecipient(ctx);
          };
        }
        const v: unknown = Reflect.get(target, key, target);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    }));
    const stats = await p.dispatcher().drain();
    expect(cancelled).toBe(1);
    expect(stats.outcomes).toEqual({ lost: 1 });
    expect(p.sandbox.requests.map((r) => r.op)).toEqual(['getProfile']); // checked, never sent
    expect(p.sandbox.messages).toHaveLength(0);
    expect(await p.states()).toEqual({ 'appt:1@10': 'cancelled' });
    const row = await p.store.knex('deliveries').first('reason', 'lease_token', 'attempts');
    expect(row).toEqual({ reason: 'appointment cancelled in the back-office', lease_token: null, attempts: 0 });
  });

  it('citizens without IO or who blocked the service are skipped with the reason', async () => {
    await p.close();
    p = await makePipeline(dialect, { sandbox: { citizens: { notFound: [citizen(1)], senderNotAllowed: [citizen(2)] } } });
    p.backoffice.events = [reminder(1), reminder(2), reminder(3)];
    await p.poll();
    await p.settle();
    const rows = await p.store.knex('deliveries as d').join('events as e', 'e.id', 'd.event_id').select('e.dedup_key', 'd.state', 'd.reason').orderBy('e.dedup_key');
    expect(rows).toEqual([
      { dedup_key: 'test:1', state: 'skipped', reason: 'io: no IO profile' },
      { dedup_key: 'test:2', state: 'skipped', reason: 'io: sender_allowed=false' },
      { dedup_key: 'test:3', state: 'processed', reason: null },
    ]);
    expect(p.sandbox.messages.map((m) => m.fiscalCode)).toEqual([citizen(3)]);
  });

  it('bad rows are reported per row and skipped; every other row goes out', async () => {
    p.backoffice.events = [
      reminder(1),
      reminder(2, { recipient: { fiscalCode: 'RSSMRA80A01H501X' } }),               // wrong check character
      reminder(3, { data: { what: 'x'.repeat(10_100), name: 'Anna' } }),           // markdown too long for IO
      reminder(4, { data: { name: 'Luigi' } }),                                     // template variable missing
      reminder(5, { notBefore: new Date(Number.NaN) }),                             // unparsable date
      reminder(6, { type: 'test.unknown' }),                                        // unknown event type
      reminder(7, { expiresAt: new Date(Date.now() - 1000) }),                      // already past
      reminder(8, { data: { what: 'la visita di Mario8', name: 'Mario8' } }),       // personal data in the subject
      reminder(9),
    ];
    p.backoffice.errors = [{ rowKey: '10', field: 'data_ora', message: 'date is missing' }];
    const r = await p.poll();
    expect(r).toMatchObject({ status: 'ok', eventsNew: 2, rowErrors: 8 });
    const errors = await p.store.knex('row_errors').select('row_key', 'field', 'message').orderBy('row_key');
    expect(errors.map((e) => [e.row_key, e.field])).toEqual([
      ['10', 'data_ora'], ['2', 'fiscalCode'], ['3', 'message'], ['4', 'message'], ['5', 'notBefore'], ['6', 'type'], ['7', 'expiresAt'], ['8', 'message'],
    ]);
    expect(errors.find((e) => e.row_key === '2')!.message).toMatch(/check character/);
    expect(errors.find((e) => e.row_key === '3')!.message).toMatch(/markdown is 10\d{3} characters/);
    expect(errors.find((e) => e.row_key === '4')!.message).toMatch(/"what" is missing/);
    expect(errors.find((e) => e.row_key === '8')!.message).toMatch(/subject/);
    await p.settle();
    expect(p.sandbox.messages.map((m) => m.fiscalCode).sort()).toEqual([citizen(1), citizen(9)].sort());
  });

  it('an event past its expiry is never sent', async () => {
    const soon = Date.now() + 150;
    p.backoffice.events = [reminder(1, { expiresAt: new Date(soon), notBefore: new Date(soon - 100) })];
    await p.poll();
    await p.settle({ clock: () => Date.now() + 1000 });
    expect(await p.states()).toEqual({ 'test:1': 'expired' });
    expect(p.sandbox.requests).toHaveLength(0);
  });

  it('permanent errors are not retried; transient ones are, until processed', async () => {
    p.backoffice.events = [reminder(1), reminder(2)];
    await p.poll();
    p.sandbox.failNext(1, '500', 'submitMessage');
    p.sandbox.failNext(1, '429', 'getProfile');
    await p.settle();
    expect(await p.states()).toEqual({ 'test:1': 'processed', 'test:2': 'processed' });
    expect(p.sandbox.messages).toHaveLength(2);
    const attempts = await p.store.knex('delivery_attempts').select('kind', 'outcome');
    expect(attempts.filter((a) => a.outcome === 'transient')).toHaveLength(2);
  });
});

describe.runIf(run.includes('postgres'))('several processes on one PostgreSQL store', () => {
  it('three dispatchers and two pollers working at once send each message exactly once', async () => {
    const p = await makePipeline('postgres', { cfg: { concurrency: 4, batchSize: 5 } });
    try {
      p.backoffice.events = Array.from({ length: 60 }, (_, i) => reminder(i + 1));
      const polls = await Promise.all([p.poll({ owner: 'a' }), p.poll({ owner: 'b' })]);
      expect(polls.map((r) => r.status).sort()).toEqual(polls.some((r) => r.status === 'busy') ? ['busy', 'ok'] : ['ok', 'ok']);
      expect(polls.reduce((n, r) => n + r.eventsNew, 0)).toBe(60);
      await Promise.all([p.settle(), p.settle(), p.settle()]);
      expect(p.sandbox.messages).toHaveLength(60);
      expect(new Set(p.sandbox.messages.map((m) => m.fiscalCode)).size).toBe(60);
      expect(Object.values(await p.states()).every((s) => s === 'processed')).toBe(true);
    } finally {
      await p.close();
    }
  });
});
