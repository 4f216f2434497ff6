// `ponte chat <phone>`: a terminal chat with the citizens' WhatsApp bot, before going live. The
// WhatsApp sandbox and Ponte's webhook server run in-process on the config's store; each line
// typed is posted as a signed inbound webhook from <phone>, and the bot's replies are printed,
// interactive menus as lettered options (answer with the letter, as on an old client).
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { configFile } from '../config/load.js';
import { loadConfig } from '../config/load.js';
import { ConfigError } from '../config/errors.js';
import { createApp } from '../app/context.js';
import { startAppServer } from '../app/server.js';
import { toE164 } from '../util/phone.js';
import { loadCitizenService, menuPlainText, type Menu } from '../citizen/service/index.js';
import type { SandboxSend } from '../sandbox/whatsapp/index.js';
import type { GlobalOptions } from './common.js';

/** How long without a new reply before the next line is read (the bot may also stay silent). */
const QUIET_MS = 500;

export function renderSend(s: SandboxSend, choosePrompt: string): string {
  const i = s.interactive;
  if (i) {
    const options = i.type === 'button'
      ? i.action.buttons.map((b) => ({ id: b.reply.id, title: b.reply.title, keywords: [], action: { kind: 'home' as const } }))
      : i.action.sections.flatMap((x) => x.rows.map((r) => ({ id: r.id, title: r.title, ...(r.description !== undefined ? { description: r.description } : {}), keywords: [], action: { kind: 'home' as const } })));
    const header = i.header?.type === 'text' ? i.header.text : undefined;
    const menu: Menu = { id: 'chat', body: i.body.text, options, ...(header !== undefined ? { header } : {}), ...(i.footer ? { footer: i.footer.text } : {}) };
    return menuPlainText(menu, choosePrompt);
  }
  if (s.media) return `[${s.type === 'image' ? 'immagine' : 'documento'}] ${s.media.link ?? s.media.id}${s.media.filename ? ` (${s.media.filename})` : ''}${s.media.caption ? `\n${s.media.caption}` : ''}`;
  return s.text ?? `[${s.type}]`;
}

export async function chatCommand(phone: string, opts: GlobalOptions): Promise<number> {
  const e164 = toE164(phone);
  if (!e164) throw new Error('the phone number is not valid (Italian numbers may omit +39)');
  const file = configFile(opts.config);
  const config = loadConfig(file);
  if (!config.channels.whatsapp) throw new ConfigError(file, ['channels.whatsapp: required by ponte chat (the bot answers on WhatsApp)']);
  if (!config.citizenService?.enabled) throw new ConfigError(file, ['citizenService: not configured or not enabled (ponte chat talks to the citizens\' WhatsApp service)']);
  const prompt = loadCitizenService(config.citizenService.file).service.texts.choosePrompt;
  // Always through the local sandbox, never the real Cloud API; logs go to stderr, the chat to stdout.
  const chatConfig = { ...config, sandbox: { ...config.sandbox, whatsapp: { enabled: true, port: 0, notOnWhatsapp: [], failedStatus: {} } }, server: { ...config.server, enabled: true } };
  const log = pino({ level: opts.logLevel ?? 'warn' }, pino.destination({ dest: 2, sync: true }));
  const app = await createApp({ configFile: file, config: chatConfig, log });
  const server = await startAppServer(app, { port: 0 });
  const sandbox = app.whatsappSandbox!;
  const interactive = process.stdin.isTTY === true;
  const out = (s: string) => process.stdout.write(`${s}\n`);
  out(`Chat con il servizio WhatsApp come ${e164} (sandbox locale). Scrivi un messaggio; Ctrl-D per uscire.`);
  try {
    const rl = createInterface({ input: process.stdin, terminal: false });
    if (interactive) process.stdout.write('> ');
    for await (const raw of rl) {
      const line = raw.trim();
      if (line === '') continue;
      if (!interactive) out(`> ${line}`);
      const seen = sandbox.sends.length;
      await sandbox.inbound(e164, line);
      // Replies go out after the webhook's 200: read them until the bot has been quiet a while.
      let count = sandbox.sends.length;
      let quietSince = Date.now();
      while (Date.now() - quietSince < QUIET_MS) {
        await sleep(50);
        if (sandbox.sends.length !== count) {
          count = sandbox.sends.length;
          quietSince = Date.now();
        }
      }
      for (const s of sandbox.sends.slice(seen).filter((x) => x.to === e164)) out(`\n${renderSend(s, prompt)}\n`);
      if (interactive) process.stdout.write('> ');
    }
  } finally {
    await sandbox.idle();
    await server?.close();
    await app.close();
  }
  return 0;
}
