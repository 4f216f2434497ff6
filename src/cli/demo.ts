// `ponte demo` (what `npm start` runs): a fresh demo back-office, the IO sandbox, one poll of
// every connector and dispatching until the messages are PROCESSED — in a few seconds.
import { mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import knexFactory from 'knex';
import type { GlobalOptions } from './common.js';
import { withApp, cliLogger } from './common.js';
import { configFile, loadConfig } from '../config/load.js';
import { seedDemoBackoffice } from '../demo/backoffice.js';
import { runConnector } from '../connectors/runner.js';
import { Dispatcher } from '../dispatch/dispatcher.js';
import { maskFiscalCode, maskPhone } from '../util/mask.js';
import { startAppServer } from '../app/server.js';
import { recordConsent } from '../store/consent.js';
import { demoConversation } from '../demo/conversation.js';
import { localStamp } from '../util/local-stamp.js';

/** The demo citizen without the IO app who opted in to WhatsApp at the counter (fictitious). */
export const DEMO_WHATSAPP_CITIZEN = '+393330000202';

export const DEMO_BACKOFFICE = 'data/demo-backoffice.sqlite';

export async function demoCommand(opts: GlobalOptions & { timeoutSeconds?: string }): Promise<number> {
  const file = configFile(opts.config);
  const config = loadConfig(file);
  if (config.store.client !== 'sqlite' || process.env[config.store.urlEnv] || !config.sandbox?.io?.enabled) {
    throw new Error(`the demo runs on the embedded default only (SQLite store, IO sandbox enabled); ${file} is not that config`);
  }
  const log = cliLogger(opts);
  for (const f of [config.store.filename, DEMO_BACKOFFICE]) for (const s of ['', '-wal', '-shm']) rmSync(f + s, { force: true });
  // The fake IO starts afresh with the store (it keeps its messages for later commands).
  if (config.sandbox.io.stateFile) rmSync(config.sandbox.io.stateFile, { force: true });
  mkdirSync(dirname(DEMO_BACKOFFICE), { recursive: true });
  const backoffice = knexFactory({ client: 'better-sqlite3', connection: { filename: DEMO_BACKOFFICE }, useNullAsDefault: true });
  try {
    await seedDemoBackoffice(backoffice);
  } finally {
    await backoffice.destroy();
  }
  log.info({ backoffice: DEMO_BACKOFFICE, store: config.store.filename }, 'demo back-office seeded (appointments, ZTL permits, a few bad rows)');

  // The demo never needs the daemon's fixed port: any free one will do.
  return withApp(opts, { config: { ...config, server: { ...config.server, port: 0 } }, log }, async (app) => {
    const server = await startAppServer(app);
    await recordConsent(app.store.knex, { phone: DEMO_WHATSAPP_CITIZEN, action: 'opt_in', source: 'demo: modulo cartaceo allo sportello', text: 'consenso firmato', at: Date.now() });
    for (const inst of app.instances) await runConnector(inst, { store: app.store, channels: app.channels, log, owner: app.owner });
    const chat = await demoConversation(app, log);
    // The demo runs whatever the hour: quiet hours are shown by the tests, not by making a newcomer wait.
    const dispatcher = new Dispatcher({ store: app.store, channels: app.channels, cfg: { ...app.config.dispatcher, statusPollSeconds: [0.5, 1, 2] }, log, timeZone: app.config.timeZone });
    const deadline = Date.now() + Number(opts.timeoutSeconds ?? 60) * 1000;
    for (;;) {
      await dispatcher.drain();
      const waiting = await app.store.knex('deliveries')
        .where((q) => q.where('state', 'accepted').orWhere((p) => p.where('state', 'pending').where('next_attempt_at', '<=', Date.now() + 10_000)))
        .count({ n: '*' }).first();
      if (Number(waiting?.n ?? 0) === 0 || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    await server?.close();
    const rows = await app.store.knex('deliveries as d').join('events as e', 'e.id', 'd.event_id')
      .select('d.id', 'd.channel', 'd.state', 'd.reason', 'd.last_error', 'd.provider_id', 'd.next_attempt_at', 'e.type', 'e.fiscal_code', 'e.phone', 'e.dedup_key').orderBy('d.id');
    const errors = await app.store.knex('row_errors').select('instance_id', 'row_key', 'field', 'message').orderBy('id');
    const lines = ['', 'Demo finished. What happened to each event:', ''];
    for (const r of rows) {
      const detail = r.state === 'pending' ? `due ${localStamp(Number(r.next_attempt_at), config.timeZone)}` : r.reason ?? r.last_error ?? (r.provider_id ? `message ${r.provider_id}` : '');
      // A broadcast's recipient is a number (it has no fiscal code): the column keeps its width.
      const who = !r.fiscal_code && r.phone ? maskPhone(r.phone) : maskFiscalCode(r.fiscal_code ?? '');
      lines.push(`  #${String(r.id).padEnd(3)} ${String(r.type).padEnd(21)} ${who.padEnd(16)}  ${String(r.channel).padEnd(9)} ${String(r.state).toUpperCase().padEnd(10)} ${detail}`);
    }
    if (errors.length) {
      lines.push('', 'Back-office rows skipped, with the reason:', '');
      for (const e of errors) lines.push(`  ${e.instance_id} row ${e.row_key} [${e.field}]: ${e.message}`);
    }
    lines.push(...chat);
    lines.push('', 'Next: `npx ponte status` (or --json), `npx ponte poll demo-appuntamenti --dry-run`, `npx ponte run` for the daemon.');
    console.log(lines.join('\n'));
    return 0;
  });
}
