// WhatsApp end to end: routing with fallback, consent, signed webhooks, pacing and stop-and-alert,
// judged from both sandboxes' records and from the store.
import { afterEach, describe, expect, it } from 'vitest';
import { createHmac } from 'node:crypto';
import { availableDialects } from '../helpers/databases.js';
import { reminder, citizen } from '../helpers/pipeline.js';
import { makeWaPipeline, whatsappOnly, type WaPipeline, APP_SECRET } from '../helpers/pipeline-whatsapp.js';
import { recordConsent } from '../../src/store/consent.js';
import { operatorAction } from '../../src/store/operator.js';
import { clearAlert } from '../../src/store/channel-alerts.js';
import { deliveryDetail } from '../../src/store/operator.js';
import { formatDelivery } from '../../src/cli/deliveries.js';
import { phoneRef } from '../../src/channels/whatsapp/privacy.js';
import { pino } from 'pino';
import { dryRun } from '../../src/connectors/dry-run.js';

const { run } = await availableDialects(['sqlite', 'postgres']);
const PHONE = (n: number) => `+39347000${String(n).padStart(4, '0')}`;
const waReminder = (n: number, extra = {}) => reminder(n, { recipient: { fiscalCode: citizen(n), phone: `347 000 ${String(n).padStart(4, '0')}` }, ...extra });
const optIn = (p: WaPipeline, n: number) => recordConsent(p.store.knex, { phone: PHONE(n), action: 'opt_in', source: 'test', at: Date.now() });

async function rows(p: WaPipeline) {
  return p.store.knex('deliveries as d').join('events as e', 'e.id', 'd.event_id').orderBy(['e.dedup_key', 'd.route_index'])
    .select('e.dedup_key as key', 'd.channel', 'd.state', 'd.reason');
}

describe.each(run)('WhatsApp on %s', (dialect) => {
  let p: WaPipeline | undefined;
  afterEach(async () => { await p?.close(); });

  it('falls back from IO to WhatsApp only with consent, recording each decision', async () => {
    p = await makeWaPipeline(dialect, { io: { citizens: { notFound: [citizen(1), citizen(2)], senderNotAllowed: [citizen(3)], rejectOnProcess: [citizen(4)] } } });
    await optIn(p, 1); await optIn(p, 3); await optIn(p, 4); // citizen 2 never opted in
    p.backoffice.events = [1, 2, 3, 4, 5].map((n) => waReminder(n));
    await p.poll();
    await p.settle();
    expect(await rows(p)).toEqual([
      { key: 'test:1', channel: 'appio', state: 'skipped', reason: 'io: no IO profile' },
      { key: 'test:1', channel: 'whatsapp', state: 'processed', reason: 'io: no IO profile → whatsapp' },
      { key: 'test:2', channel: 'appio', state: 'skipped', reason: 'io: no IO profile' },
      { key: 'test:2', channel: 'whatsapp', state: 'skipped', reason: 'whatsapp: no opt-in from this number' },
      { key: 'test:3', channel: 'appio', state: 'skipped', reason: 'io: sender_allowed=false' },
      { key: 'test:3', channel: 'whatsapp', state: 'processed', reason: 'io: sender_allowed=false → whatsapp' },
      { key: 'test:4', channel: 'appio', state: 'rejected', reason: 'io: REJECTED' },
      { key: 'test:4', channel: 'whatsapp', state: 'processed', reason: 'io: REJECTED → whatsapp' },
      { key: 'test:5', channel: 'appio', state: 'processed', reason: null },
    ]);
    expect(p.waSandbox.sends.map((s) => s.to).sort()).toEqual([PHONE(1), PHONE(3), PHONE(4)]);
    const send = p.waSandbox.sends.find((s) => s.to === PHONE(1))!;
    expect(send.template).toMatchObject({ name: 'promemoria', language: 'it' });
  });

  it('a citizen whose language the back-office holds gets the approved translation in it; the others the step\'s', async () => {
    p = await makeWaPipeline(dialect, { deliver: whatsappOnly, translations: { promemoria: ['it', 'de'] } });
    await optIn(p, 1); await optIn(p, 2); await optIn(p, 3);
    const lang = (n: number, language: string) => waReminder(n, { recipient: { fiscalCode: citizen(n), phone: `347 000 ${String(n).padStart(4, '0')}`, language } });
    p.backoffice.events = [lang(1, 'de'), lang(2, 'fr'), waReminder(3)];
    await p.poll();
    await p.settle();
    expect(Object.fromEntries(p.waSandbox.sends.map((s) => [s.to, s.template?.language]))).toEqual({ [PHONE(1)]: 'de', [PHONE(2)]: 'it', [PHONE(3)]: 'it' });
  });

  it('unsigned or forged webhooks get 401 and change nothing', async () => {
    p = await makeWaPipeline(dialect);
    await optIn(p, 1);
    const stop = JSON.stringify({ object: 'whatsapp_business_account', entry: [{ id: '1', changes: [{ field: 'messages', value: { messaging_product: 'whatsapp', metadata: { display_phone_number: '1', phone_number_id: '106540352242922' }, messages: [{ from: PHONE(1).slice(1), id: 'wamid.IN1', timestamp: String(Math.floor(Date.now() / 1000)), type: 'text', text: { body: 'STOP' } }] } }] }] });
    const post = (headers: Record<string, string>) => fetch(p!.webhookUrl, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: stop });
    expect((await post({})).status).toBe(401);
    expect((await post({ 'X-Hub-Signature-256': `sha256=${createHmac('sha256', 'wrong-secret').update(stop).digest('hex')}` })).status).toBe(401);
    expect((await post({ 'X-Hub-Signature-256': 'sha256=zz' })).status).toBe(401);
    expect(await p.store.knex('inbound_messages').count({ n: '*' })).toEqual([{ n: 0 }]);
    expect(await p.store.knex('consents').where({ phone: PHONE(1) }).first('state')).toEqual({ state: 'opted_in' });
    const ok = await post({ 'X-Hub-Signature-256': `sha256=${createHmac('sha256', APP_SECRET).update(stop).digest('hex')}` });
    expect(ok.status).toBe(200);
    expect(await p.store.knex('consents').where({ phone: PHONE(1) }).first('state')).toEqual({ state: 'opted_out' });
    // The handshake.
    expect(await (await fetch(`${p.webhookUrl}?hub.mode=subscribe&hub.verify_token=test-verify-token&hub.challenge=4242`)).text()).toBe('4242');
    expect((await fetch(`${p.webhookUrl}?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=4242`)).status).toBe(403);
  });

  it('a signed webhook for another business number of the same Meta app changes nothing here', async () => {
    p = await makeWaPipeline(dialect);
    await optIn(p, 1);
    const value = (phoneNumberId: string) => ({
      messaging_product: 'whatsapp', metadata: { display_phone_number: '1', phone_number_id: phoneNumberId },
      messages: [{ from: PHONE(1).slice(1), id: `wamid.IN-${phoneNumberId}`, timestamp: String(Math.floor(Date.now() / 1000)), type: 'text', text: { body: 'STOP' } }],
      statuses: [{ id: `wamid.OUT-${phoneNumberId}`, status: 'sent', timestamp: String(Math.floor(Date.now() / 1000)), recipient_id: PHONE(1).slice(1), biz_opaque_callback_data: '1' }],
    });
    const post = (phoneNumberId: string) => {
      const body = JSON.stringify({ object: 'whatsapp_business_account', entry: [{ id: '1', changes: [{ field: 'messages', value: value(phoneNumberId) }] }] });
      return fetch(p!.webhookUrl, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Hub-Signature-256': `sha256=${createHmac('sha256', APP_SECRET).update(body).digest('hex')}` }, body });
    };
    expect((await post('999999999999999')).status).toBe(200); // Meta must not retry it
    expect(await p.store.knex('inbound_messages').count({ n: '*' })).toEqual([{ n: 0 }]);
    expect(await p.store.knex('whatsapp_statuses').count({ n: '*' })).toEqual([{ n: 0 }]);
    expect(await p.store.knex('consents').where({ phone: PHONE(1) }).first('state')).toEqual({ state: 'opted_in' });
    expect(p.waSandbox.sends).toHaveLength(0); // no "you are unsubscribed" from our number either
    // The same notification for our number is taken.
    expect((await post('106540352242922')).status).toBe(200);
    expect(await p.store.knex('consents').where({ phone: PHONE(1) }).first('state')).toEqual({ state: 'opted_out' });
    expect(await p.store.knex('whatsapp_statuses').count({ n: '*' })).toEqual([{ n: 1 }]);
  });

  it('duplicated and reordered status webhooks yield the right final state', async () => {
    p = await makeWaPipeline(dialect, { deliver: whatsappOnly, wa: { statuses: { duplicate: true, reorder: true } } });
    await optIn(p, 1); await optIn(p, 2);
    p.backoffice.events = [waReminder(1), waReminder(2)];
    await p.poll();
    await p.settle();
    await p.waSandbox.idle();
    expect(await p.states()).toEqual({ 'test:1': 'processed', 'test:2': 'processed' });
    const statuses = await p.store.knex('whatsapp_statuses').select('wamid', 'status');
    expect(statuses).toHaveLength(6); // sent, delivered, read for each, once each despite duplicates
    expect(p.waSandbox.webhooks.length).toBeGreaterThanOrEqual(12);
  });

  it('a number not on WhatsApp ends rejected (131026) after the sent status', async () => {
    p = await makeWaPipeline(dialect, { deliver: whatsappOnly, wa: { notOnWhatsapp: [PHONE(1)] } });
    await optIn(p, 1);
    p.backoffice.events = [waReminder(1)];
    await p.poll();
    await p.settle();
    expect(await rows(p)).toEqual([{ key: 'test:1', channel: 'whatsapp', state: 'rejected', reason: expect.stringMatching(/^whatsapp: 131026/) }]);
  });

  it("a failed status webhook ends the delivery with Meta's code and what it means for the operator", async () => {
    // Meta's codes as the status webhook carries them: 131049 (ecosystem limit), 132001 (template
    // missing in that language), 470 (the On-Premises code of 131047), 131047.
    p = await makeWaPipeline(dialect, { deliver: whatsappOnly, wa: { failedStatus: { [PHONE(1)]: 131049, [PHONE(2)]: 132001, [PHONE(3)]: 470, [PHONE(4)]: 131047 } } });
    for (const n of [1, 2, 3, 4]) await optIn(p, n);
    p.backoffice.events = [1, 2, 3, 4].map((n) => waReminder(n));
    await p.poll();
    await p.settle();
    expect(await rows(p)).toEqual([
      { key: 'test:1', channel: 'whatsapp', state: 'rejected', reason: 'whatsapp: 131049 This message was not delivered to maintain healthy ecosystem engagement. — Meta held it back to limit the marketing messages this citizen gets (from any business): do not resend within 24 hours; a UTILITY template is not limited' },
      { key: 'test:2', channel: 'whatsapp', state: 'failed', reason: 'whatsapp: 132001 Template name does not exist in the translation — no approved template with this name in this language (misspelt, deleted, not yet approved, or another language code): check WhatsApp Manager (template "promemoria", language "it")' },
      // Per recipient, like 131047: a "first" route may still reach the citizen on another channel.
      { key: 'test:3', channel: 'whatsapp', state: 'rejected', reason: 'whatsapp: 470 Message failed to send because more than 24 hours have passed since the customer last replied to this number — more than 24 hours since the citizen last wrote: only an approved template can go out now' },
      { key: 'test:4', channel: 'whatsapp', state: 'rejected', reason: 'whatsapp: 131047 Re-engagement message — more than 24 hours since the citizen last wrote: only an approved template can go out now' },
    ]);
  });

  it('ponte delivery show says what Meta reported: sent, delivered, read, or failed with its code', async () => {
    p = await makeWaPipeline(dialect, { deliver: whatsappOnly, wa: { notOnWhatsapp: [PHONE(2)] } });
    await optIn(p, 1); await optIn(p, 2);
    p.backoffice.events = [waReminder(1), waReminder(2)];
    await p.poll();
    await p.settle();
    await p.waSandbox.idle();
    const shown = async (n: number) => {
      const id = (await p!.store.knex('deliveries').where({ address: PHONE(n) }).first('id')).id as number;
      return formatDelivery((await deliveryDetail(p!.store.knex, Number(id)))!).split('\n');
    };
    const read = await shown(1);
    expect(read.find((l) => l.includes('recipient'))).toMatch(/recipient {3}\w{3}\*{12}\w, WhatsApp \+39\*{8}01$/);
    const from = read.indexOf("  WhatsApp statuses (Meta's webhooks):");
    expect(from).toBeGreaterThan(0);
    expect(read.slice(from + 1).map((l) => l.replace(/^ {4}\S+ \S+ CES?T /, ''))).toEqual(['sent', 'delivered', 'read']);
    const failed = await shown(2);
    expect(failed.slice(failed.indexOf("  WhatsApp statuses (Meta's webhooks):") + 1).map((l) => l.replace(/^ {4}\S+ \S+ CES?T /, ''))).toEqual(['sent', 'failed 131026 Message undeliverable']);
    expect([...read, ...failed].join('\n')).not.toMatch(/\+39347\d{7}/);
  });

  it('the info log names the citizen of each send and outcome by the ref `ponte ref` prints, never by number', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const log = pino({ level: 'info' }, { write: (l: string) => { lines.push(JSON.parse(l) as Record<string, unknown>); } });
    p = await makeWaPipeline(dialect, { deliver: whatsappOnly, wa: { notOnWhatsapp: [PHONE(2)] }, log });
    await optIn(p, 1); await optIn(p, 2);
    p.backoffice.events = [waReminder(1), waReminder(2)];
    await p.poll();
    await p.settle();
    const about = (n: number) => lines.filter((l) => l.to === phoneRef(PHONE(n))).map((l) => l.msg);
    expect(about(1)).toEqual(['sent: accepted by the provider', "processed: in the citizen's inbox"]);
    expect(about(2)).toEqual(['sent: accepted by the provider', 'rejected by the provider']);
    expect(JSON.stringify(lines)).not.toMatch(/347000000[12]/);
  });

  it('a dry run says which WhatsApp sends the consent ledger would skip as it stands', async () => {
    p = await makeWaPipeline(dialect, { deliver: whatsappOnly });
    await optIn(p, 1); // citizen 2 never opted in
    p.backoffice.events = [waReminder(1), waReminder(2)];
    const report = await dryRun(p.instance, { knex: p.store.knex, channels: p.channels, log: p.log });
    expect(report.events.map((e) => [e.key, e.sends.map((x) => x.notEligible ?? 'would send')])).toEqual([
      ['test:1', ['would send']],
      ['test:2', ['whatsapp: no opt-in from this number']],
    ]);
    expect(await p.store.knex('events').count({ n: '*' })).toEqual([{ n: 0 }]);
  });

  it('a template refused at the send (132000) names the template and what to compare', async () => {
    p = await makeWaPipeline(dialect, { deliver: whatsappOnly });
    await optIn(p, 1);
    p.waSandbox.failNext(1, 132000);
    p.backoffice.events = [waReminder(1)];
    await p.poll();
    await p.settle();
    expect(await p.store.knex('deliveries').select('state', 'last_error')).toEqual([{ state: 'failed', last_error: expect.stringMatching(/^whatsapp: POST \/messages → 400 \(#132000\) Number of parameters does not match the expected number of params: .* — the number of parameters differs from the approved template: .*\(template "promemoria", language "it"\)$/) }]);
  });

  it('an opt-out received while a send is pending stops that send, and is confirmed to the citizen', async () => {
    p = await makeWaPipeline(dialect, { deliver: whatsappOnly });
    await optIn(p, 1); await optIn(p, 2);
    const later = new Date(Date.now() + 3_600_000);
    p.backoffice.events = [waReminder(1, { notBefore: later }), waReminder(2, { notBefore: later })];
    await p.poll();
    await p.waSandbox.inbound(PHONE(1), 'Stop!');
    await p.waSandbox.idle();
    const offset = 2 * 3_600_000;
    await p.settle({ clock: () => Date.now() + offset });
    expect(await rows(p)).toEqual([
      { key: 'test:1', channel: 'whatsapp', state: 'cancelled', reason: 'the citizen opted out of WhatsApp (whatsapp-keyword)' },
      { key: 'test:2', channel: 'whatsapp', state: 'processed', reason: null },
    ]);
    expect(p.waSandbox.sends.filter((s) => s.to === PHONE(1)).map((s) => s.type)).toEqual(['text']); // only the confirmation
    expect(await p.store.knex('consent_events').where({ phone: PHONE(1) }).orderBy('id').select('action', 'source', 'text')).toEqual([
      { action: 'opt_in', source: 'test', text: null },
      { action: 'opt_out', source: 'whatsapp-keyword', text: 'Stop!' },
    ]);
  });

  it('131056 paces that citizen while the others continue', async () => {
    p = await makeWaPipeline(dialect, { deliver: whatsappOnly });
    for (const n of [1, 2, 3]) await optIn(p, n);
    p.backoffice.events = [waReminder(1), waReminder(2), waReminder(3)];
    await p.poll();
    p.waSandbox.failNext(1, 131056);
    const stats = await p.dispatcher({ cfg: { concurrency: 1, quickRetries: 0 } }).drain();
    expect(stats.outcomes).toMatchObject({ accepted: 2, pending: 1 });
    const paced = await p.store.knex('deliveries').where({ state: 'pending' }).first('next_attempt_at', 'last_error', 'updated_at');
    expect(Number(paced.next_attempt_at) - Number(paced.updated_at)).toBeGreaterThanOrEqual(900); // 4^0 s
    expect(paced.last_error).toMatch(/131056/);
    await p.settle({ clock: () => Date.now() + 5000 });
    expect(new Set(Object.values(await p.states()))).toEqual(new Set(['processed']));
    expect(p.waSandbox.sends).toHaveLength(3);
  });

  it('190 (token expired) halts WhatsApp for everyone without losing anything; IO goes on', async () => {
    p = await makeWaPipeline(dialect, { io: { citizens: { notFound: [citizen(1), citizen(2)] } } });
    await optIn(p, 1); await optIn(p, 2);
    p.backoffice.events = [waReminder(1), waReminder(2), waReminder(3)];
    await p.poll();
    p.waSandbox.failNext(1, 190);
    const d = p.dispatcher({ cfg: { concurrency: 1 } });
    for (let i = 0; i < 6; i++) await d.drain();
    const alert = await p.store.knex('channel_alerts').first('channel', 'code');
    expect(alert).toEqual({ channel: 'whatsapp', code: '190' });
    const wa = await p.store.knex('deliveries').where({ channel: 'whatsapp' }).pluck('state');
    expect(wa.sort()).toEqual(['pending', 'pending']);
    expect(p.waSandbox.sends).toHaveLength(0);
    // One request only reached Meta, the one answered 190: nothing went out after the halt.
    const posts = () => p!.waSandbox.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/messages'));
    expect(posts().map((r) => r.code)).toEqual([190]);
    expect((await p.states())['test:3']).toBeDefined();
    // The operator renews the token and resumes: everything goes out.
    await clearAlert(p.store.knex, 'whatsapp');
    await p.settle({ clock: () => Date.now() + 120_000 });
    expect((await p.store.knex('deliveries').where({ channel: 'whatsapp' }).pluck('state')).sort()).toEqual(['processed', 'processed']);
    expect(p.waSandbox.sends).toHaveLength(2);
  });

  it('a timed-out send is uncertain until the sent webhook with our id proves it — never resent', async () => {
    p = await makeWaPipeline(dialect, { deliver: whatsappOnly });
    await optIn(p, 1);
    p.backoffice.events = [waReminder(1)];
    await p.poll();
    p.waSandbox.failNext(1, null, { kind: 'timeout' });
    await p.dispatcher({ cfg: { quickRetries: 0 } }).drain();
    expect(p.waSandbox.sends).toHaveLength(1); // Meta did take it
    // Either the sent webhook beat the timeout (confirmed at once) or it settles the uncertain one.
    const deadline = Date.now() + 10_000;
    while ((await p.states())['test:1'] !== 'processed' && Date.now() < deadline) {
      await p.dispatcher().drain();
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(await p.states()).toEqual({ 'test:1': 'processed' });
    const d = await p.store.knex('deliveries').first('provider_id', 'reason');
    expect(d.provider_id).toBe(p.waSandbox.sends[0]!.wamid);
    expect(d.reason).toMatch(/^send confirmed by (the provider after an unanswered request|a WhatsApp status webhook)$/);
    expect(p.waSandbox.sends).toHaveLength(1);
    await expect(operatorAction(p.store.knex, 1, 'resend')).rejects.toThrow(/is processed: cannot resend/);
  });
});
