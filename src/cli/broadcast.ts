// `ponte broadcast create|list|cancel`: an operator's broadcast to the WhatsApp subscribers of a
// topic, optionally narrowed to a segment. --dry-run shows the audience per segment, the exact
// payload, how many days the messaging limit makes it take and when the first messages really
// go (after the quiet hours), and writes nothing.
import { UsageError, type GlobalOptions } from './common.js';
import { withStore } from './store-only.js';
import { configFile, loadConfig } from '../config/load.js';
import { ConfigError } from '../config/errors.js';
import { readYamlFile } from '../config/yaml-file.js';
import { loadCitizenService } from '../citizen/service/index.js';
import { createBroadcast, planBroadcast, cancelBroadcast, broadcastEvents, broadcastStatus, type BroadcastPlan } from '../broadcast/create.js';
import { BroadcastError, type BroadcastRequest } from '../broadcast/validate.js';
import type { Segment } from '../broadcast/audience.js';
import { fetchMessagingLimit, saveMessagingLimit } from '../broadcast/messaging-limit.js';
import type { WhatsappConfig } from '../config/schema.js';
import type { Knex } from 'knex';
import axios from 'axios';
import { instantToWallTime } from '../util/local-time.js';

export interface BroadcastCreateOptions extends GlobalOptions {
  file?: string; topic?: string; template?: string; param?: string[]; segment?: string[]; key?: string;
  at?: string; urgent?: boolean; channel?: string; dryRun?: boolean;
}

/** "area=centro,colle" → { area: ['centro', 'colle'] } */
function parseSegment(items: string[] = []): Segment | null {
  if (!items.length) return null;
  const seg: Segment = {};
  for (const it of items) {
    const m = /^([\w-]+)=(.+)$/.exec(it);
    if (!m) throw new Error(`--segment "${it}": expected attribute=value[,value…] (e.g. area=centro,colle)`);
    seg[m[1]!] = m[2]!.split(',').map((v) => v.trim()).filter(Boolean);
  }
  return seg;
}

function requestFrom(o: BroadcastCreateOptions): BroadcastRequest {
  const fromFile = o.file ? readYamlFile(o.file) as Partial<BroadcastRequest> & { at?: string } : {};
  const topic = o.topic ?? fromFile.topic;
  const template = o.template ?? fromFile.template;
  if (!topic) throw new Error('a broadcast needs --topic (or topic: in the file)');
  if (!template) throw new Error('a broadcast needs --template (or template: in the file)');
  const atText = o.at ?? fromFile.at;
  const at = atText ? Date.parse(atText) : undefined;
  if (atText && !Number.isFinite(at)) throw new Error(`--at "${atText}": not a date-time (e.g. 2026-12-01T09:00:00+01:00)`);
  const key = o.key ?? fromFile.key ?? `${topic}-${new Date(at ?? Date.now()).toISOString().slice(0, 16)}`;
  return {
    key, topic, template, params: o.param ?? fromFile.params ?? [], segment: parseSegment(o.segment) ?? fromFile.segment ?? null,
    urgent: o.urgent ?? fromFile.urgent ?? false, ...(at !== undefined ? { at } : {}), channel: o.channel ?? fromFile.channel ?? 'whatsapp', source: 'cli',
  };
}

/** An instant as the rest of the CLI prints it (UTC), with the local time an operator reads beside it. */
export function when(ms: number, zone: string): string {
  return `${new Date(ms).toISOString()} (${instantToWallTime(new Date(ms), zone).slice(0, 16)} ${zone})`;
}

export function formatPlan(plan: BroadcastPlan, req: BroadcastRequest, dryRun: boolean): string {
  const lines = [
    `${dryRun ? 'Dry run (nothing written): b' : 'B'}roadcast "${req.key}" to topic ${req.topic}${req.segment ? `, segment ${JSON.stringify(req.segment)}` : ''}${req.urgent ? ' (urgent: ignores quiet hours)' : ''}`,
    `  audience: ${plan.audience} subscribed citizen(s)`,
  ];
  for (const [attr, counts] of Object.entries(plan.bySegment)) {
    lines.push(`    by ${attr}: ${Object.entries(counts).map(([v, n]) => `${v} ${n}`).join(', ') || '—'}`);
  }
  lines.push(`  messaging limit: ${plan.limit.limit === -1 ? 'unlimited' : `${plan.limit.limit} citizens / 24 h`} (${plan.limit.tier})`);
  const n = plan.days.length;
  const from = when(plan.startsAt, plan.timeZone);
  lines.push(n <= 1
    ? `  this broadcast will take 1 day: all ${plan.audience} from ${from}`
    : `  this broadcast will take ${n} days: ${plan.days.map((k, d) => `day ${d + 1}: ${k}`).join(', ')}; from ${from}, each day at that hour`);
  const q = plan.quietHoursMoved;
  if (q) lines.push(`  quiet hours ${q.from}–${q.to} (${plan.timeZone}) moved the start from ${when(q.requestedAt, plan.timeZone)}`);
  lines.push('  payload (one per citizen):', JSON.stringify(plan.payload, null, 2).replace(/^/gm, '    '));
  return lines.join('\n');
}

function citizenSetup(opts: GlobalOptions) {
  const file = configFile(opts.config);
  const config = loadConfig(file);
  const settings = config.citizenService;
  if (!settings?.enabled) throw new ConfigError(file, ['citizenService: not configured (broadcasts need its topics, and templates declared under channels.whatsapp.templates)']);
  const wa = config.channels.whatsapp;
  if (!wa) throw new ConfigError(file, ['channels.whatsapp: not configured (broadcasts go only to WhatsApp)']);
  const service = loadCitizenService(settings.file).service;
  return { settings, templates: wa.templates, service, phoneNumberId: wa.phoneNumberId, quietHours: settings.quietHours, timeZone: config.timeZone, wa };
}

/** The limit is read fresh from the Cloud API when the token is set; else the stored one is used (and said). */
async function refreshLimit(knex: Knex, wa: WhatsappConfig): Promise<void> {
  const token = process.env[wa.tokenEnv];
  if (!token) {
    console.error(`note: ${wa.tokenEnv} is not set: using the messaging limit last stored`);
    return;
  }
  try {
    const l = await fetchMessagingLimit(axios.create({ timeout: wa.timeoutSeconds * 1000, maxRedirects: 0 }), { graphUrl: wa.graphUrl, version: wa.version, phoneNumberId: wa.phoneNumberId, token });
    await saveMessagingLimit(knex, wa.phoneNumberId, l, Date.now());
  } catch (e) {
    console.error(`note: could not read the messaging limit (${(e as Error).message}): using the one last stored`);
  }
}

export async function broadcastCreateCommand(opts: BroadcastCreateOptions): Promise<number> {
  try {
    return await createBroadcastCommand(opts);
  } catch (e) {
    // A refused request (unknown topic, a template of the wrong category …) is the operator's to fix: exit 2.
    if (e instanceof BroadcastError) throw new UsageError(e.message);
    throw e;
  }
}

async function createBroadcastCommand(opts: BroadcastCreateOptions): Promise<number> {
  const req = requestFrom(opts);
  const setup = citizenSetup(opts);
  return withStore(opts, async (s) => {
    const { wa, ...rest } = setup;
    await refreshLimit(s.knex, wa);
    const deps = { knex: s.knex, ...rest };
    if (opts.dryRun) {
      const plan = await planBroadcast(req, deps);
      console.log(opts.json ? JSON.stringify({ ...plan, recipients: undefined }, null, 2) : formatPlan(plan, req, true));
      return 0;
    }
    const r = await createBroadcast(req, deps);
    if (opts.json) console.log(JSON.stringify({ ...r, recipients: undefined }, null, 2));
    else console.log(`${formatPlan(r, req, false)}\n  broadcast ${r.id}: ${r.created} delivery(ies) created${r.alreadyThere ? `, ${r.alreadyThere} already there (not sent twice)` : ''}; \`ponte run\` sends them`);
    return 0;
  });
}

export async function broadcastListCommand(opts: GlobalOptions): Promise<number> {
  const { timeZone } = loadConfig(configFile(opts.config));
  return withStore(opts, async (s) => {
    const rows = await s.knex('broadcasts').orderBy('id', 'desc').limit(50);
    const now = Date.now();
    const out = [];
    for (const b of rows) {
      const states = await s.knex('deliveries').whereIn('event_id', broadcastEvents(s.knex, b).select('id'))
        .groupBy('state').select('state').count({ n: '*' }) as Array<{ state: string; n: number | string }>;
      const deliveries = Object.fromEntries(states.map((r) => [r.state, Number(r.n)]));
      const scheduledAt = Number(b.scheduled_at);
      out.push({ id: Number(b.id), key: b.key, topic: b.topic, status: broadcastStatus({ status: b.status, scheduledAt }, deliveries, now), audience: Number(b.audience), days: Number(b.days), scheduledAt: new Date(scheduledAt).toISOString(), deliveries });
    }
    if (opts.json) console.log(JSON.stringify(out, null, 2));
    else if (!out.length) console.log('No broadcasts yet.');
    else for (const b of out) console.log(`${b.id}  ${b.key}  ${b.topic}  ${b.status}  audience ${b.audience}  ${b.days} day(s) from ${when(Date.parse(b.scheduledAt), timeZone)}  ${Object.entries(b.deliveries).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    return 0;
  });
}

export async function broadcastCancelCommand(id: string, opts: GlobalOptions): Promise<number> {
  const n = Number(id);
  if (!Number.isInteger(n)) throw new Error(`broadcast id must be a number, not "${id}"`);
  return withStore(opts, async (s) => {
    const r = await cancelBroadcast(s.knex, n);
    console.log(`broadcast ${n} cancelled: ${r.cancelled} delivery(ies) not sent yet were cancelled; those already with WhatsApp are kept`);
    return 0;
  });
}
