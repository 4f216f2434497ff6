// A crash while a WhatsApp webhook is being stored (issue 6: "during a webhook"). The process dies
// before answering 200, so Meta posts the same notification again later; whatever the moment of
// the crash, that retry must lead to the same end state as an uninterrupted delivery: each status
// stored once, the message's final state right, a STOP honoured (never lost as "already seen").
import { afterEach, describe, expect, it } from 'vitest';
import { availableDialects } from '../helpers/databases.js';
import { reminder, citizen } from '../helpers/pipeline.js';
import { makeWaPipeline, whatsappOnly, type WaPipeline } from '../helpers/pipeline-whatsapp.js';
import { recordConsent } from '../../src/store/consent.js';
import { SimulatedCrash, throwingCrashPoint, type CrashPoint } from '../../src/util/crash-point.js';
import { replySender } from '../../src/webhooks/whatsapp.js';
import { sweepReplies } from '../../src/webhooks/send-replies.js';
import { statusReport } from '../../src/store/status.js';
import { queueReplies } from '../../src/store/reply-outbox.js';
import { startAppServer } from '../../src/app/server.js';
import type { AppContext } from '../../src/app/context.js';
import { configSchema } from '../../src/config/schema.js';
import { PonteMetrics } from '../../src/metrics/index.js';
import { parseSamples, value } from '../metrics/prom-text.js';

const { run } = await availableDialects(['sqlite', 'postgres']);
const PHONE = '+393470000001';

describe.each(run)('crash during a webhook on %s', (dialect) => {
  let p: WaPipeline | undefined;
  afterEach(async () => { await p?.close(); });

  // sent, delivered, read: the crash comes after the 1st, 2nd or 3rd stored status.
  it.each([0, 1, 2])('statuses: killed after status #%i is stored, Meta\'s retry completes them once each', async (after) => {
    const crash: { point?: CrashPoint } = {};
    p = await makeWaPipeline(dialect, { deliver: whatsappOnly, webhookCrash: crash });
    await recordConsent(p.store.knex, { phone: PHONE, action: 'opt_in', source: 'test', at: Date.now() });
    p.backoffice.events = [reminder(1, { recipient: { fiscalCode: citizen(1), phone: '347 000 0001' } })];
    await p.poll();
    const webhookUrl = p.webhookUrl;
    const kill = throwingCrashPoint('during-webhook', after);
    crash.point = (name) => {
      try {
        kill(name);
      } catch (e) {
        // The process is dead: until it restarts, Meta's next posts find nobody listening.
        p!.waSandbox.setWebhookUrl('http://127.0.0.1:1/webhooks/whatsapp');
        crash.point = undefined;
        throw e;
      }
    };
    await p.dispatcher().drain();
    await p.waSandbox.idle();
    const failed = p.waSandbox.webhooks.filter((w) => w.status !== 200);
    expect(failed.length).toBeGreaterThan(0);
    expect(await p.store.knex('whatsapp_statuses').count({ n: '*' })).toEqual([{ n: after + 1 }]);

    p.waSandbox.setWebhookUrl(webhookUrl); // the restarted process
    const retried = await p.waSandbox.retryFailedWebhooks();
    expect(retried.every((w) => w.status === 200)).toBe(true);
    await p.settle();
    expect(await p.states()).toEqual({ 'test:1': 'processed' });
    const statuses = (await p.store.knex('whatsapp_statuses').select('status')).map((r) => r.status as string).sort();
    expect(statuses).toEqual(['delivered', 'read', 'sent']);
    expect(p.waSandbox.sends).toHaveLength(1);
  });

  it('a STOP stored just before the kill stays honoured when Meta posts it again', async () => {
    const crash: { point?: CrashPoint } = {};
    p = await makeWaPipeline(dialect, { deliver: whatsappOnly, webhookCrash: crash });
    await recordConsent(p.store.knex, { phone: PHONE, action: 'opt_in', source: 'test', at: Date.now() - 1000 });
    // Killed right after the STOP was stored, before the 200 and the confirmation.
    crash.point = throwingCrashPoint('during-webhook');
    const id = await p.waSandbox.inbound(PHONE, 'STOP');
    expect(p.waSandbox.webhooks.at(-1)!.status).toBe(500);
    expect(await p.store.knex('consents').where({ phone: PHONE }).first('state')).toEqual({ state: 'opted_out' });

    crash.point = undefined;
    await p.waSandbox.retryFailedWebhooks();
    await p.waSandbox.idle();
    expect(await p.store.knex('consents').where({ phone: PHONE }).first('state')).toEqual({ state: 'opted_out' });
    expect(await p.store.knex('inbound_messages').where({ id }).count({ n: '*' })).toEqual([{ n: 1 }]);
    expect(await p.store.knex('consent_events').where({ phone: PHONE, action: 'opt_out' }).count({ n: '*' })).toEqual([{ n: 1 }]);
    // The retry is recognised as already handled, so it does not answer again; the confirmation
    // queued with the STOP is still in the reply outbox, and the restarted process's sweep sends it, once.
    expect(p.waSandbox.sends.filter((s) => s.type === 'text')).toHaveLength(0);
    const send = replySender({ reply: (to, text) => p!.wa.sendText(to, text) });
    expect(await sweepReplies(p.store.knex, send, p.log, () => Date.now() + 10_000)).toEqual({ sent: 1, failed: 0, stale: 0 });
    expect(await sweepReplies(p.store.knex, send, p.log, () => Date.now() + 20_000)).toEqual({ sent: 0, failed: 0, stale: 0 });
    expect(p.waSandbox.sends.filter((s) => s.type === 'text').map((s) => s.to)).toEqual([PHONE]);
    // And nothing more is sent to this citizen.
    p.backoffice.events = [reminder(2, { recipient: { fiscalCode: citizen(2), phone: '347 000 0001' } })];
    await p.poll();
    await p.settle();
    expect(p.waSandbox.sends.filter((s) => s.type === 'template')).toHaveLength(0);
  });

  it('a crash inside a STOP\'s handling leaves nothing half-done: the retry records it and confirms it', async () => {
    const crash: { point?: CrashPoint } = {};
    p = await makeWaPipeline(dialect, { deliver: whatsappOnly, webhookCrash: crash });
    await recordConsent(p.store.knex, { phone: PHONE, action: 'opt_in', source: 'test', at: Date.now() - 1000 });
    // A kill in the middle of the message's transaction: simulated by failing its consent write.
    let failOnce = true;
    p.store.knex.on('query', (q: { sql: string }) => {
      if (failOnce && /insert into [`"]?consent_events/i.test(q.sql)) { failOnce = false; throw new SimulatedCrash('during-webhook'); }
    });
    const id = await p.waSandbox.inbound(PHONE, 'STOP');
    expect(p.waSandbox.webhooks.at(-1)!.status).toBe(500);
    // Nothing of the message was kept, not even its id: the retry is not "already seen".
    expect(await p.store.knex('inbound_messages').where({ id }).count({ n: '*' })).toEqual([{ n: 0 }]);
    expect(await p.store.knex('consents').where({ phone: PHONE }).first('state')).toEqual({ state: 'opted_in' });
    await p.waSandbox.retryFailedWebhooks();
    await p.waSandbox.idle();
    expect(await p.store.knex('consents').where({ phone: PHONE }).first('state')).toEqual({ state: 'opted_out' });
    // The confirmation goes out after the 200.
    for (let i = 0; i < 100 && p.waSandbox.sends.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(p.waSandbox.sends.filter((s) => s.type === 'text')).toHaveLength(1);
  });

  it('a confirmation whose send fails stays in the outbox: the sweep sends it later, or drops it once stale', async () => {
    p = await makeWaPipeline(dialect, { deliver: whatsappOnly });
    await recordConsent(p.store.knex, { phone: PHONE, action: 'opt_in', source: 'test', at: Date.now() - 1000 });
    const texts = () => p!.waSandbox.sends.filter((s) => s.type === 'text').length;
    p.waSandbox.failNext(1, null, { httpStatus: 503 }); // the send right after the webhook's 200
    const stop = await p.waSandbox.inbound(PHONE, 'STOP');
    await p.waSandbox.idle();
    let row: { state: string; last_error: string | null } | undefined;
    for (let i = 0; i < 100 && !row?.last_error; i++) {
      await new Promise((r) => setTimeout(r, 20));
      row = await p.store.knex('reply_outbox').where({ inbound_id: stop }).first('state', 'last_error');
    }
    expect(row).toMatchObject({ state: 'pending', last_error: expect.stringMatching(/503/) });
    expect(texts()).toBe(0);
    // CED staff see it waiting: `ponte status` and /metrics.
    expect((await statusReport(p.store.knex)).replies).toEqual({ waiting: 1, failed: 0, stale: 0 });
    expect(value(parseSamples(await new PonteMetrics({ store: p.store, channels: p.channels, processMetrics: false }).metrics()), 'ponte_reply_outbox', { state: 'pending' })).toBe(1);

    const send = replySender({ reply: (to, text) => p!.wa.sendText(to, text) });
    // Too recent for the sweep: it is the webhook's own to send.
    expect(await sweepReplies(p.store.knex, send, p.log)).toEqual({ sent: 0, failed: 0, stale: 0 });
    p.waSandbox.failNext(1, null, { httpStatus: 503 });
    expect(await sweepReplies(p.store.knex, send, p.log, () => Date.now() + 10_000)).toEqual({ sent: 0, failed: 1, stale: 0 });
    expect(await sweepReplies(p.store.knex, send, p.log, () => Date.now() + 20_000)).toEqual({ sent: 1, failed: 0, stale: 0 });
    expect(await p.store.knex('reply_outbox').where({ inbound_id: stop }).first('state', 'attempts')).toEqual({ state: 'sent', attempts: 3 });
    expect(texts()).toBe(1);

    // A reply still unsent 15 minutes on is dropped, never sent late.
    p.waSandbox.failNext(1, null, { httpStatus: 503 });
    const optIn = await p.waSandbox.inbound(PHONE, 'ISCRIVIMI');
    await p.waSandbox.idle();
    for (let i = 0; i < 100 && !(await p.store.knex('reply_outbox').where({ inbound_id: optIn }).first('last_error'))?.last_error; i++) await new Promise((r) => setTimeout(r, 20));
    expect(await sweepReplies(p.store.knex, send, p.log, () => Date.now() + 16 * 60_000)).toEqual({ sent: 0, failed: 0, stale: 1 });
    expect(await p.store.knex('reply_outbox').where({ inbound_id: optIn }).first('state')).toEqual({ state: 'stale' });
    expect(texts()).toBe(1);
    expect((await statusReport(p.store.knex)).replies).toEqual({ waiting: 0, failed: 0, stale: 1 });
    const samples = parseSamples(await new PonteMetrics({ store: p.store, channels: p.channels, processMetrics: false }).metrics());
    expect(['pending', 'sending', 'failed', 'stale'].map((state) => value(samples, 'ponte_reply_outbox', { state }))).toEqual([0, 0, 0, 1]);
  });

  it('the restarted server sweeps the outbox at once: a reply left by a killed process goes out', async () => {
    p = await makeWaPipeline(dialect, { deliver: whatsappOnly });
    // The citizen wrote (WhatsApp allows free-form replies for 24 h after that) …
    await p.waSandbox.inbound(PHONE, 'buongiorno');
    await p.waSandbox.idle();
    // … and a process killed after handling it left its confirmation queued, 10 s ago.
    await queueReplies(p.store.knex, 'wamid.left-over', PHONE, [{ type: 'text', text: { body: 'Non riceverai più messaggi.', preview_url: false } }], Date.now() - 10_000);
    const app = {
      configFile: 'test', config: configSchema.parse({ server: { host: '127.0.0.1', port: 0 }, channels: { whatsapp: { phoneNumberId: '106540352242922' } } }),
      store: p.store, channels: new Map([['whatsapp', p.wa]]), instances: [], log: p.log, owner: 'test-proc', close: async () => {},
      whatsappSecrets: { appSecret: 'x', verifyToken: 'y' },
    } as unknown as AppContext;
    const server = (await startAppServer(app, { env: {} }))!;
    try {
      // The sandbox has the reply before the sweep records it as sent: wait for the record (5 s at most, for a loaded CI host).
      const row = () => p!.store.knex('reply_outbox').where({ inbound_id: 'wamid.left-over' }).first('state', 'attempts');
      for (let i = 0; i < 250 && (await row())?.state !== 'sent'; i++) await new Promise((r) => setTimeout(r, 20));
      // (The other send answers 'buongiorno' itself: replies.other, as nobody reads this number.)
      expect(p.waSandbox.sends.filter((s) => s.text === 'Non riceverai più messaggi.').map((s) => [s.type, s.to])).toEqual([['text', PHONE]]);
      expect(await row()).toEqual({ state: 'sent', attempts: 1 });
    } finally {
      await server.close();
    }
  });
});
