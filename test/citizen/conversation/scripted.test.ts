// The "How it is shown", against the WhatsApp sandbox over real HTTP: "Ciao" → menu →
// subscribe to weather alerts → an alert broadcast arrives → "STOP METEO" → the next alert does not → "PRIVACY" → "I MIEI DATI" → "CANCELLA I MIEI DATI".
import { afterAll, describe, expect, it } from 'vitest';
import { availableDialects } from '../../helpers/databases.js';
import { menuInteractive } from '../../../src/citizen/service/index.js';
import { startConversation, type Conversation } from './harness.js';
import { createBroadcast } from '../../../src/broadcast/create.js';
import { Dispatcher } from '../../../src/dispatch/dispatcher.js';
import { citizenServiceSchema, dispatcherSchema, whatsappSchema } from '../../../src/config/schema.js';
import type { SandboxSend } from '../../../src/sandbox/whatsapp/state.js';
import { pino } from 'pino';

const { run } = await availableDialects(['sqlite', 'postgres']);

/** An operator's alert broadcast to `topic`, dispatched: the template sends it produced. */
async function anAlertBroadcastArrives(c: Conversation, topic: string, key: string): Promise<SandboxSend[]> {
  const before = c.sandbox.sends.length;
  const settings = citizenServiceSchema.parse({});
  const templates = whatsappSchema.shape.templates.parse({ allerta_meteo: { category: 'utility', params: 1 } });
  await createBroadcast({ key, topic, template: 'allerta_meteo', params: ['Allerta arancione per piogge dalle 14'], urgent: true, source: 'test' },
    { knex: c.store.knex, service: c.service, settings, templates, phoneNumberId: '106540352242922' });
  const d = new Dispatcher({ store: c.store, channels: new Map([['whatsapp', c.channel]]), cfg: dispatcherSchema.parse({ quickRetries: 0 }), log: pino({ level: 'silent' }) });
  await d.drain();
  return c.sandbox.sends.slice(before).filter((s) => s.type === 'template');
}

describe.each(run)('scripted conversation (%s)', (dialect) => {
  let c: Conversation;
  afterAll(async () => c?.close());

  it('Ciao → menu → subscribe → STOP METEO → PRIVACY → I MIEI DATI → CANCELLA I MIEI DATI', async () => {
    c = await startConversation(dialect);
    const { knex } = c.store;
    const s = c.service;

    // "Ciao": the welcome, then the home menu as an interactive list, exactly.
    const hello = await c.say('Ciao');
    expect(hello.map((m) => m.type)).toEqual(['text', 'interactive']);
    expect(hello[0]!.text).toBe(s.welcome);
    expect(hello[1]!.interactive).toEqual({
      type: 'list',
      header: { type: 'text', text: 'Comune di Ponteverde' },
      body: { text: s.menus.home!.body },
      footer: { text: 'Scrivi MENU per tornare qui' },
      action: {
        button: 'Menu',
        sections: [{ rows: s.menus.home!.options.map((o) => ({ id: o.id, title: o.title, description: o.description })) }],
      },
    });
    expect(c.sandbox.requests.at(-1)!.body).toEqual({ messaging_product: 'whatsapp', recipient_type: 'individual', to: c.phone, type: 'interactive', interactive: menuInteractive(s.menus.home!) });

    // The topics menu, then a tap on weather alerts.
    const topics = await c.tap('home:argomenti');
    expect(topics).toHaveLength(1);
    expect(topics[0]!.interactive!.type).toBe('list');
    const sub = await c.tap('sys:sub:meteo');
    const subWamid = c.sandbox.webhooks.filter((w) => w.kind === 'inbound').at(-1)!;
    const subId = (subWamid.body as any).entry[0].changes[0].value.messages[0].id as string;
    // The first opt-in comes with the privacy notice: the version its proof records was shown.
    expect(sub.map((m) => m.text)).toEqual(['Fatto! ✅ Da ora ricevi gli avvisi «Allerte meteo». Per non riceverli più scrivi STOP METEO.', s.privacy.text]);
    expect(await knex('topic_subscriptions').where({ phone: c.phone }).select('topic', 'state')).toEqual([{ topic: 'meteo', state: 'subscribed' }]);
    const proofIn = await knex('consent_events').where({ phone: c.phone, topic: 'meteo' }).select('action', 'source', 'text', 'privacy_version', 'proof');
    expect(proofIn).toEqual([{ action: 'opt_in', source: 'whatsapp-menu', text: 'Allerte meteo', privacy_version: '2026-09', proof: subId }]);
    // A topic subscription is not the global reminder opt-in.
    expect(await knex('consents').where({ phone: c.phone }).first()).toBeUndefined();

    // An alert broadcast to the topic reaches the subscribed citizen as a UTILITY template.
    const alert = await anAlertBroadcastArrives(c, 'meteo', 'allerta-1');
    expect(alert.map((m) => [m.to, m.template?.name, m.template?.body])).toEqual([[c.phone, 'allerta_meteo', ['Allerta arancione per piogge dalle 14']]]);

    // "STOP METEO": that topic only.
    const stop = await c.say('STOP METEO');
    expect(stop.map((m) => m.text)).toEqual(['Non riceverai più gli avvisi «Allerte meteo». Per iscriverti di nuovo scrivi ISCRIVIMI METEO.']);
    expect(await knex('topic_subscriptions').where({ phone: c.phone }).select('topic', 'state')).toEqual([{ topic: 'meteo', state: 'unsubscribed' }]);
    const proofOut = await knex('consent_events').where({ phone: c.phone, topic: 'meteo', action: 'opt_out' }).select('source', 'text', 'privacy_version');
    expect(proofOut).toEqual([{ source: 'whatsapp-keyword', text: 'STOP METEO', privacy_version: '2026-09' }]);
    // The next alert does not reach them.
    expect(await anAlertBroadcastArrives(c, 'meteo', 'allerta-2')).toEqual([]);

    // "PRIVACY": the notice of the service.
    const privacy = await c.say('PRIVACY');
    expect(privacy.map((m) => m.text)).toEqual([s.privacy.text]);

    // "I MIEI DATI": what is stored, the number in clear for the citizen himself.
    const [mydata] = await c.say('I miei dati');
    expect(mydata!.text).toContain(`• Numero: ${c.phone}`);
    expect(mydata!.text).toContain('• Iscrizioni: nessuna');
    expect(mydata!.text).toContain('• Registro dei consensi: 2 modifiche');
    expect(mydata!.text).toContain('• Messaggi che ci hai scritto: 6');

    // "CANCELLA I MIEI DATI": asks first, with buttons.
    const ask = await c.say('CANCELLA I MIEI DATI');
    expect(ask[0]!.interactive).toEqual({
      type: 'button',
      body: { text: s.texts.eraseConfirm },
      action: { buttons: [{ type: 'reply', reply: { id: 'sys:erase:yes', title: s.texts.eraseYes } }, { type: 'reply', reply: { id: 'sys:erase:no', title: s.texts.eraseNo } }] },
    });
    const erased = await c.tap('sys:erase:yes');
    expect(erased.map((m) => m.text)).toEqual([s.texts.erased]);
    expect(await knex('citizen_sessions').where({ phone: c.phone })).toEqual([]);
    expect(await knex('citizen_profiles').where({ phone: c.phone })).toEqual([]);
    expect(await knex('topic_subscriptions').where({ phone: c.phone })).toEqual([]);
    expect((await knex('inbound_messages').where({ phone: c.phone }).whereNotNull('text')).length).toBe(0);
    // Only what proves the opt-out is left: the STOP METEO and the erasure itself.
    const left = await knex('consent_events').where({ phone: c.phone }).orderBy('id').select('action', 'source', 'topic');
    expect(left).toEqual([
      { action: 'opt_out', source: 'whatsapp-keyword', topic: 'meteo' },
      { action: 'opt_out', source: 'erasure', topic: null },
    ]);
    expect((await knex('consents').where({ phone: c.phone }).first())?.state).toBe('opted_out');
    // Ponte logged the whole conversation without the number in clear.
    expect(c.logLines.length).toBeGreaterThan(10);
    expect(c.logLines.filter((l) => l.includes('3471234567'))).toEqual([]);
  });
});
