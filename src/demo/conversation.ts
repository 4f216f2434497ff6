// The citizens' WhatsApp service in the demo: a citizen writes "Ciao", gets the menu, subscribes
// to weather alerts, and an operator's alert broadcast reaches her — all through the WhatsApp
// sandbox and Ponte's real webhook. Returns a transcript for the terminal (number masked).
import type { Logger } from 'pino';
import type { AppContext } from '../app/context.js';
import { Dispatcher } from '../dispatch/dispatcher.js';
import { createBroadcast } from '../broadcast/create.js';
import { loadCitizenService, menuPlainText } from '../citizen/service/index.js';
import type { SandboxSend } from '../sandbox/whatsapp/state.js';
import { maskPhone } from '../util/mask.js';

export const DEMO_CHAT_CITIZEN = '+393330000303';

/** Waits until the bot's replies stop arriving (they are sent after the webhook's 200). */
async function repliesAfter(sends: SandboxSend[], before: number, quietMs = 400, maxMs = 5000): Promise<SandboxSend[]> {
  const end = Date.now() + maxMs;
  let seen = sends.length;
  let since = Date.now();
  while (Date.now() < end) {
    await new Promise((r) => setTimeout(r, 50));
    if (sends.length !== seen) { seen = sends.length; since = Date.now(); }
    else if (sends.length > before && Date.now() - since >= quietMs) break;
  }
  return sends.slice(before);
}

function show(s: SandboxSend): string {
  if (s.type === 'template') return `[template ${s.template?.name}] ${s.template?.body.join(' · ')}`;
  if (s.interactive) {
    const i = s.interactive;
    const options = i.type === 'button' ? i.action.buttons.map((b) => ({ id: b.reply.id, title: b.reply.title })) : i.action.sections.flatMap((x) => x.rows.map((r) => ({ id: r.id, title: r.title, description: r.description })));
    return menuPlainText({ id: 'demo', body: i.body.text, options: options.map((o) => ({ ...o, keywords: [], action: { kind: 'home' } })) } as never);
  }
  return s.text ?? `[${s.type}]`;
}

export async function demoConversation(app: AppContext, log: Logger): Promise<string[]> {
  const sandbox = app.whatsappSandbox;
  const settings = app.config.citizenService;
  const wa = app.config.channels.whatsapp;
  if (!sandbox || !settings?.enabled || !wa) return [];
  const lines: string[] = ['', `Citizens' WhatsApp service (a citizen, ${maskPhone(DEMO_CHAT_CITIZEN)}, writes to the Comune):`, ''];
  const say = async (text: string) => {
    const before = sandbox.sends.length;
    await sandbox.inbound(DEMO_CHAT_CITIZEN, text);
    lines.push(`  citizen › ${text}`);
    for (const s of await repliesAfter(sandbox.sends, before)) lines.push(...show(s).split('\n').map((l, i) => `  ${i === 0 ? 'comune  ›' : '         '} ${l}`));
  };
  await say('Ciao');
  await say('ISCRIVIMI METEO');
  // An operator sends a weather alert to the topic's subscribers (`ponte broadcast create`).
  const template = Object.entries(wa.templates).find(([, t]) => t.category === 'utility' && t.params === 1)?.[0];
  if (template) {
    const service = loadCitizenService(settings.file).service;
    const b = await createBroadcast({ key: `demo-allerta-${Date.now()}`, topic: 'meteo', template, params: ['Allerta gialla per vento forte fino alle 20'], urgent: true, source: 'demo' },
      { knex: app.store.knex, service, settings, templates: wa.templates, phoneNumberId: wa.phoneNumberId });
    const before = sandbox.sends.length;
    await new Dispatcher({ store: app.store, channels: app.channels, cfg: app.config.dispatcher, log, timeZone: app.config.timeZone }).drain();
    lines.push('', `  operator › ponte broadcast create --topic meteo --template ${template} --urgent  (audience ${b.audience})`);
    for (const s of sandbox.sends.slice(before)) lines.push(`  comune  › ${show(s)}`);
  }
  return lines;
}
