// The composition root: from a config file to a running set of store, channels, connectors and
// (in sandbox mode) the local IO fake. Every command builds its world here, the same way.
import { processIdentity, type ProcessIdentity } from '../util/process-identity.js';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { loadConfig } from '../config/load.js';
import type { PonteConfig } from '../config/schema.js';
import { describeUrl, openStore, migrateLatest, pendingMigrations, type Store } from '../store/db.js';
import { describePlan, migrationPlan } from '../store/migration-plan.js';
import { useStoreRefKey } from '../store/store-meta.js';
import { resolveInstances, type ConnectorInstance } from '../connectors/registry.js';
import type { Channel } from '../channels/channel.js';
import type { EventTypeSpec } from '../connectors/contract.js';
import { AppioChannel } from '../channels/appio/index.js';
import { startIoSandbox, type IoSandbox } from '../sandbox/io/index.js';
import { WhatsappChannel } from '../channels/whatsapp/index.js';
import { startWhatsappSandbox, type WhatsappSandbox } from '../sandbox/whatsapp/index.js';
import { isOptedIn } from '../store/consent.js';
import { broadcastAllowed } from '../broadcast/consent.js';
import { highestStatus, wamidOfDelivery } from '../store/whatsapp-statuses.js';
import { ioRenderer } from './render.js';
import { EMBEDDED_KEEP_REQUESTS } from '../sandbox/recorded.js';

export interface AppContext {
  configFile: string;
  config: PonteConfig;
  store: Store;
  channels: Map<string, Channel>;
  instances: ConnectorInstance[];
  log: Logger;
  /** This process's identity in leases and claims. */
  owner: string;
  /** Where it runs and the prefix of its claim tokens: how a restart finds the claims it left if killed. */
  identity: ProcessIdentity;
  sandbox?: IoSandbox;
  whatsappSandbox?: WhatsappSandbox;
  /** Secrets the webhook needs (from the environment; placeholders in sandbox mode). */
  whatsappSecrets?: { appSecret: string; verifyToken: string };
  /** Cuts the channels' requests in flight (they fail now and are recorded as such); the store stays open. */
  cutRequests(): void;
  close(): Promise<void>;
}

export interface AppOptions {
  configFile: string;
  log: Logger;
  env?: NodeJS.ProcessEnv;
  /** Only these connector instances (ponte poll <id>). */
  only?: string[];
  /** Apply pending migrations (default true). */
  migrate?: boolean;
  /** Start the IO sandbox when the config enables it (default true). */
  sandbox?: boolean;
  /**
   * false: this command sends nothing (`ponte poll`: it stores events, or prints them), so the
   * channels' secrets are not required; an unset one is a visible placeholder. Default true: the
   * daemon and `dispatch` fail at start on a missing secret, not at the first send.
   */
  sends?: boolean;
  /** Pre-loaded config (tests). */
  config?: PonteConfig;
}

export function storeConfigFrom(config: PonteConfig, env: NodeJS.ProcessEnv) {
  const url = env[config.store.urlEnv];
  if (url) {
    const client = /^postgres(ql)?:/.test(url) ? 'pg' as const : /^mssql:|^sqlserver:/.test(url) ? 'mssql' as const : null;
    if (!client) throw new Error(`${config.store.urlEnv}: unsupported URL scheme (use postgres://… or mssql://…)`);
    const where = `${client === 'pg' ? 'PostgreSQL' : 'SQL Server'} ${describeUrl(url)} (from $${config.store.urlEnv})`;
    return { client, url, where, ...(config.store.schema ? { schema: config.store.schema } : {}), pool: { max: config.store.poolMax }, queryTimeoutSeconds: config.store.queryTimeoutSeconds };
  }
  if (config.store.client !== 'sqlite') throw new Error(`store.client is "${config.store.client}" but ${config.store.urlEnv} is not set`);
  return { client: 'sqlite' as const, filename: config.store.filename, where: `SQLite file ${config.store.filename} (store.filename; $${config.store.urlEnv} not set)` };
}

export async function createApp(opts: AppOptions): Promise<AppContext> {
  const env = opts.env ?? process.env;
  const config = opts.config ?? loadConfig(opts.configFile);
  const instances = await resolveInstances(config, opts.configFile, opts.only);
  const owner = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const store = openStore(storeConfigFrom(config, env), { log: opts.log });
  let sandbox: IoSandbox | undefined;
  let waSandbox: WhatsappSandbox | undefined;
  const closeChannels = () => {
    for (const c of channels.values()) (c as { close?: () => void }).close?.();
  };
  const channels = new Map<string, Channel>();
  try {
    if (opts.migrate !== false) {
      // Say it before a migration that may take minutes, so a quiet start is not taken for a hang.
      const pending = await pendingMigrations(store);
      if (pending.length) for (const line of describePlan(await migrationPlan(store, pending))) opts.log.warn({ store: store.where }, `migrating the store: ${line}`);
      const started = Date.now();
      const applied = await migrateLatest(store);
      // Several processes starting together each announced the migration above: say which one did it.
      if (applied.length) opts.log.warn({ store: store.where, seconds: (Date.now() - started) / 1000 }, `migrated the store: applied ${applied.length} migration(s)`);
      else if (pending.length) opts.log.info({ store: store.where }, 'store migrated by another process meanwhile: nothing left to do here');
      // Before any channel logs a citizen: refs keyed by this store, the same in every process.
      await useStoreRefKey(store.knex);
    }

    const templates = new Map<string, EventTypeSpec>();
    for (const inst of instances) for (const [type, spec] of Object.entries(inst.definition.eventTypes)) if (!templates.has(type)) templates.set(type, spec);

    const io = config.channels.appio;
    if (io) {
      let baseUrl = io.baseUrl;
      let channelEnv = env;
      const sb = config.sandbox?.io;
      if (sb?.enabled && opts.sandbox !== false) {
        // Its messages are forgotten a day after Ponte's status polls of them end (statusMaxAgeHours).
        sandbox = await startIoSandbox({ port: sb.port, processingDelayMs: sb.processingDelayMs, keepRequests: EMBEDDED_KEEP_REQUESTS, forgetMessagesAfterMs: (config.dispatcher.statusMaxAgeHours + 24) * 3_600_000, citizens: { notFound: sb.notOnIo }, ...(sb.stateFile ? { stateFile: sb.stateFile } : {}) });
        baseUrl = sandbox.url;
        // The sandbox accepts any key: give services without one a visible placeholder.
        channelEnv = { ...env };
        for (const s of Object.values(io.services)) channelEnv[s.keyEnv] ??= `sandbox-${s.keyEnv.toLowerCase()}`;
        opts.log.info({ url: sandbox.url }, 'IO sandbox started (local fake of the IO services API)');
      }
      if (opts.sends === false) {
        channelEnv = { ...channelEnv };
        for (const s of Object.values(io.services)) channelEnv[s.keyEnv] ||= `<unset: $${s.keyEnv}>`;
      }
      channels.set('appio', new AppioChannel({
        baseUrl,
        services: io.services,
        owners: Object.fromEntries(Object.entries(io.owners).map(([k, v]) => [k, { requests: v.requests, windowMs: v.windowSeconds * 1000 }])),
        timeoutMs: io.timeoutSeconds * 1000,
        render: ioRenderer((t) => templates.get(t), config.timeZone),
        env: channelEnv,
        logger: opts.log,
      }));
    }

    const wa = config.channels.whatsapp;
    let whatsappSecrets: AppContext['whatsappSecrets'];
    if (wa) {
      let graphUrl = wa.graphUrl;
      let waEnv = env;
      const sb = config.sandbox?.whatsapp;
      if (sb?.enabled && opts.sandbox !== false) {
        // Sandbox mode: secrets drawn per process for the three unset ones. Not fixed strings: one
        // published in the source would let anyone who reaches the webhook (server.host set wider
        // for a trial) sign payloads: forged citizens' messages, opt-ins and statuses.
        waEnv = { ...env };
        waEnv[wa.tokenEnv] ??= `sandbox-token-${randomBytes(16).toString('hex')}`;
        waEnv[wa.appSecretEnv] ??= `sandbox-app-secret-${randomBytes(16).toString('hex')}`;
        waEnv[wa.verifyTokenEnv] ??= `sandbox-verify-token-${randomBytes(16).toString('hex')}`;
        waSandbox = await startWhatsappSandbox({ port: sb.port, keepRequests: EMBEDDED_KEEP_REQUESTS, version: wa.version, phoneNumberId: wa.phoneNumberId, token: waEnv[wa.tokenEnv]!, appSecret: waEnv[wa.appSecretEnv]!, notOnWhatsapp: sb.notOnWhatsapp, failedStatus: sb.failedStatus, ...sandboxTemplates(config) });
        graphUrl = waSandbox.url;
        opts.log.info({ url: waSandbox.url }, 'WhatsApp sandbox started (local fake of the Cloud API)');
      }
      if (opts.sends === false) {
        waEnv = { ...waEnv };
        for (const n of [wa.tokenEnv, wa.appSecretEnv, wa.verifyTokenEnv]) waEnv[n] ||= `<unset: $${n}>`;
      }
      const missing = [wa.appSecretEnv, wa.verifyTokenEnv].filter((n) => !waEnv[n]);
      if (missing.length) throw new Error(`whatsapp: set environment variable(s) ${missing.join(', ')} (the webhook cannot be verified without them)`);
      whatsappSecrets = { appSecret: waEnv[wa.appSecretEnv]!, verifyToken: waEnv[wa.verifyTokenEnv]! };
      channels.set('whatsapp', new WhatsappChannel({
        graphUrl,
        version: wa.version,
        phoneNumberId: wa.phoneNumberId,
        tokenEnv: wa.tokenEnv,
        env: waEnv,
        timeoutMs: wa.timeoutSeconds * 1000,
        throughputPerSecond: wa.throughputPerSecond,
        timeZone: config.timeZone,
        translations: Object.fromEntries(Object.entries(wa.templates).map(([name, t]) => [name, t.languages])),
        consent: (phone, ctx) => ctx.event.type === 'broadcast'
          ? broadcastAllowed(store.knex, phone, String(ctx.event.data.topic))
          : isOptedIn(store.knex, phone),
        statuses: (wamid) => highestStatus(store.knex, wamid),
        wamidOfDelivery: (id) => wamidOfDelivery(store.knex, id),
        logger: opts.log,
      }));
    }
    return {
      configFile: opts.configFile, config, store, channels, instances, log: opts.log, owner, identity: processIdentity(),
      ...(sandbox ? { sandbox } : {}),
      ...(waSandbox ? { whatsappSandbox: waSandbox } : {}),
      ...(whatsappSecrets ? { whatsappSecrets } : {}),
      cutRequests: closeChannels,
      close: async () => {
        closeChannels();
        await store.close();
        await sandbox?.close();
        await waSandbox?.close();
      },
    };
  } catch (e) {
    closeChannels();
    await store.close();
    await sandbox?.close();
    await waSandbox?.close();
    throw e;
  }
}

/**
 * The sandbox approves what the configuration declares (channels.whatsapp.templates), as Meta
 * would, once the approved list is declared; else it takes any.
 */
function sandboxTemplates(config: PonteConfig): { templates?: Record<string, { languages: string[]; params: number }> } {
  const declared = config.channels.whatsapp?.templates ?? {};
  return Object.keys(declared).length ? { templates: declared } : {};
}
