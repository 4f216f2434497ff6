// Building the citizens' WhatsApp service from the config for a running Ponte: the service file,
// the FAQ, the staff endpoint and staff routes. Null when citizenService is absent or disabled,
// so the webhook keeps the plain consent keywords.
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { PonteConfig } from '../../config/schema.js';
import type { WhatsappChannel } from '../../channels/whatsapp/channel.js';
import type { Handler } from '../../server/http-server.js';
import type { CitizenServiceHook } from '../../webhooks/whatsapp.js';
import { loadCitizenService } from '../service/index.js';
import { loadFaq } from '../faq/index.js';
import { StaffEndpoint } from '../handoff/staff-endpoint.js';
import { staffRoutes } from '../handoff/staff-routes.js';
import { channelSender } from './send.js';

export function citizenServiceWiring(config: PonteConfig, channel: WhatsappChannel, knex: Knex, log: Logger, env: NodeJS.ProcessEnv): { hook: CitizenServiceHook; routes: Record<string, Handler> } | null {
  const settings = config.citizenService;
  if (!settings?.enabled) return null;
  const { service, warnings } = loadCitizenService(settings.file);
  for (const w of warnings) log.warn(`${settings.file}: ${w}`);
  const faq = loadFaq(settings.faq);
  const endpoint = service.handoff.endpoint;
  const staff = endpoint ? new StaffEndpoint({ url: endpoint.url, tokenEnv: endpoint.tokenEnv, env, log }) : undefined;
  if (endpoint && !env[endpoint.tokenEnv]) log.warn(`hand-off: set environment variable ${endpoint.tokenEnv} (the staff endpoint's token): until then staff cannot be reached nor reply`);
  const routes = endpoint ? staffRoutes({ knex, tokenEnv: endpoint.tokenEnv, env, log, closedNotice: service.texts.handoffClosed, sendText: (to, text) => channel.sendText(to, text, { paced: false }) }) : {};
  return { hook: { deps: { service, faq }, send: channelSender(channel), ...(staff ? { staff } : {}) }, routes };
}
