// The shape of config/ponte.yaml. Objects are strict: an unknown or misspelt field is an error
// that names it, not a setting silently ignored.
import { z } from 'zod';
import { validate as validCron } from 'node-cron';
import { approvedTemplateProblems } from './whatsapp-templates.js';
import { secureUrl } from './secure-url.js';

// The bad expression is quoted: "not valid" alone leaves the reader to find which one in the file.
// A schedule is never a secret.
const cron = z.string().refine((s) => validCron(s), {
  error: (issue) => `not a valid cron expression: ${JSON.stringify(issue.input)} (node-cron syntax, optional seconds field)`,
});
const envName = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name (A-Z, 0-9, _)');
const id = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,99}$/, 'lower-case letters, digits, - and _ (max 100)');

export const storeSchema = z.strictObject({
  client: z.enum(['sqlite', 'pg', 'mssql']).default('sqlite'),
  filename: z.string().default('data/ponte.sqlite'),
  /** Environment variable holding the connection URL; when it is set it wins over `client`. */
  urlEnv: envName.default('DATABASE_URL'),
  schema: z.string().optional(),
  poolMax: z.number().int().positive().default(10),
  /**
   * PostgreSQL: a query unanswered this long fails and its connection is closed, so a frozen
   * connection (no FIN, no RST) is an outage said within this bound, not after TCP's ~15 min.
   * 0: no bound. Migrations and the retention purge are never bound.
   */
  queryTimeoutSeconds: z.number().nonnegative().default(30),
});

export const appioSchema = z.strictObject({
  baseUrl: secureUrl('the IO key').default('https://api.io.pagopa.it/api/v1'),
  timeoutSeconds: z.number().positive().default(10),
  /** IO counts requests per owner account (APIM user): every service of one owner shares it. */
  owners: z.record(z.string(), z.strictObject({
    requests: z.number().int().positive().default(150),
    windowSeconds: z.number().positive().default(5),
  })).default({}),
  services: z.record(z.string(), z.strictObject({
    keyEnv: envName,
    owner: z.string().default('default'),
  })).refine((s) => Object.keys(s).length > 0, 'at least one IO service is needed'),
});

export const whatsappSchema = z.strictObject({
  graphUrl: secureUrl('the WhatsApp token').default('https://graph.facebook.com'),
  /** Pinned Graph API version. */
  version: z.string().regex(/^v\d+\.\d+$/, 'a Graph API version like v24.0').default('v24.0'),
  phoneNumberId: z.string().min(1),
  tokenEnv: envName.default('WHATSAPP_TOKEN'),
  appSecretEnv: envName.default('WHATSAPP_APP_SECRET'),
  verifyTokenEnv: envName.default('WHATSAPP_VERIFY_TOKEN'),
  timeoutSeconds: z.number().positive().default(10),
  throughputPerSecond: z.number().int().positive().default(80),
  /**
   * The templates Meta approved for this number, as WhatsApp Manager shows them, declared once
   * for every use: a connector's WhatsApp step is checked against them when the configuration
   * loads, so a misspelt name, a language without a translation or a wrong number of parameters
   * is a configuration error instead of a 132001/132000 on the first send, maybe days later; and
   * a broadcast may use only these, in a category matching its topic's.
   */
  templates: z.record(
    z.string().regex(/^[a-z0-9_]{1,512}$/, 'an approved template name (a-z, 0-9, _)'),
    z.strictObject({
      /** The category Meta approved it in: broadcasts to a topic must use the topic's category. */
      category: z.enum(['utility', 'marketing']).default('utility'),
      /** The approved translations (language codes exactly as approved: "it", "en_US"). */
      languages: z.array(z.string().regex(/^[a-z]{2,3}(_[A-Z]{2,4})?$/, 'a template language code like "it"')).min(1).default(['it']),
      /** Body parameters ({{1}}, {{2}} … or named ones) of the approved text. */
      params: z.number().int().min(0).max(100).default(0),
      /** Whether the header has a text parameter. */
      headerParam: z.boolean().default(false),
    }),
  ).default({}),
  /** Keywords citizens write (compared case- and accent-insensitively). */
  keywords: z.strictObject({
    optIn: z.array(z.string().min(1)).default(['ISCRIVIMI', 'ISCRIVI', 'START', 'SI']),
    optOut: z.array(z.string().min(1)).default(['STOP', 'CANCELLAMI', 'BASTA', 'DISISCRIVIMI']),
    privacy: z.array(z.string().min(1)).default(['PRIVACY', 'INFORMATIVA']),
  }).prefault({}),
  replies: z.strictObject({
    optIn: z.string().default('Iscrizione confermata: riceverai qui i promemoria del Comune. Scrivi STOP per non riceverne più, PRIVACY per l\'informativa.'),
    optOut: z.string().default('Non riceverai più messaggi del Comune su WhatsApp. Scrivi ISCRIVIMI per iscriverti di nuovo.'),
    privacy: z.string().default('Informativa privacy: il Comune usa il tuo numero solo per inviarti i promemoria che hai chiesto. Scrivi STOP per cancellarti.'),
    /**
     * Anything else a citizen writes (a question, "annullo", a tapped quick-reply button): without
     * the citizens' service nobody reads it, so the citizen is told where to turn instead of
     * silence, at most once a day per number. "" sends nothing.
     */
    other: z.string().default('Questo numero invia solo i promemoria del Comune e non legge i messaggi. Per informazioni, o per disdire un appuntamento, contatta gli uffici del Comune (recapiti sul sito). Scrivi STOP per non ricevere più messaggi, PRIVACY per l\'informativa.'),
  }).prefault({}),
});

export const serverSchema = z.strictObject({
  /** The HTTP server of `ponte run` (WhatsApp webhook). Localhost unless a reverse proxy needs more. */
  host: z.string().default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(8080),
  enabled: z.boolean().default(true),
});

export const sandboxSchema = z.strictObject({
  io: z.strictObject({
    enabled: z.boolean().default(true),
    port: z.number().int().min(0).max(65535).default(0),
    processingDelayMs: z.number().int().min(0).default(300),
    /** Fiscal codes the fake treats as having no IO profile (demo of a skipped delivery). */
    notOnIo: z.array(z.string()).default([]),
    /** Keeps the messages the fake created across commands (JSON lines), so a later command can poll their status. */
    stateFile: z.string().min(1).optional(),
  }).optional(),
  whatsapp: z.strictObject({
    enabled: z.boolean().default(true),
    port: z.number().int().min(0).max(65535).default(0),
    /** Numbers the fake treats as not on WhatsApp (sent, then failed 131026). */
    notOnWhatsapp: z.array(z.string()).default([]),
    /** Numbers (E.164) whose messages the fake accepts, then fails with this Meta code in the status webhook (131049, 132001, 470 …), to see how each ends. */
    failedStatus: z.record(z.string().regex(/^\+[1-9]\d{6,14}$/, 'an E.164 number with "+"'), z.number().int().positive()).default({}),
  }).optional(),
});

export const dispatcherSchema = z.strictObject({
  /** When to look for due work (node-cron, with seconds); new events also wake it at once. */
  schedule: cron.default('*/2 * * * * *'),
  batchSize: z.number().int().positive().max(1000).default(50),
  /** Provider requests in flight at once (profile checks, sends and status polls together). */
  concurrency: z.number().int().positive().max(256).default(16),
  /**
   * The most deliveries prepared beyond those requests: their checks, rate slot and durable
   * `sending` are done while the requests ahead of them are in flight, so a free request slot
   * never waits for a store round trip. Within this, the dispatcher prepares as many as its
   * measured latencies call for (src/dispatch/send-ahead.ts): about concurrency × 2 × the
   * `sending` commit's time ÷ the request's, so one or two against IO's latency and up to all of
   * them against a provider that answers at once. A kill of the process costs nothing for them:
   * the send journal shows they had not left, and the restart sends them (SIGTERM lets them all go
   * out). Only where there is no journal to read (the machine itself went down, a journal folder
   * that did not survive the restart, or the work is taken over from another machine) can a crash
   * leave those prepared then `uncertain` although they never left. 0 prepares nothing ahead.
   * Default: twice `concurrency`.
   */
  sendAhead: z.number().int().min(0).max(512).optional(),
  /**
   * Folder of the send journals (one small file per process, delivery ids only): which `sending`
   * deliveries a killed process had actually sent, so a restart on this machine sends the others
   * again instead of holding them uncertain; beside each, the process's alive socket, which tells a
   * restart in another pid namespace (a container) that it is gone. Must survive the restart.
   * Default: ponte-sends-<uid> in the temporary folder.
   */
  sendJournalDir: z.string().min(1).optional(),
  /** How long a claim is held before another process may take the work over. */
  leaseSeconds: z.number().positive().default(120),
  /** In-process retries of a transient error before the persistent schedule takes over. */
  quickRetries: z.number().int().min(0).max(5).default(2),
  maxAttempts: z.number().int().positive().default(8),
  maxAgeHours: z.number().positive().default(48),
  backoff: z.strictObject({
    baseSeconds: z.number().positive().default(30),
    maxSeconds: z.number().positive().default(3600),
  }).prefault({}),
  /** Delays between status polls of an accepted message; the last one repeats. */
  statusPollSeconds: z.array(z.number().positive()).min(1).default([5, 30, 120, 600, 3600]),
  statusMaxAgeHours: z.number().positive().default(168),
  /**
   * What to do with a send whose fate is unknown (IO has no idempotency key): 'hold' it as
   * uncertain for an operator (never two), or 'resend' it (at least once; then no `sending` is
   * written before a request while the claim is young, see process-delivery.ts).
   */
  onUncertain: z.enum(['hold', 'resend']).default('hold'),
}).transform(({ sendAhead, ...rest }) => ({ ...rest, sendAhead: sendAhead ?? 2 * rest.concurrency }));

export const retentionSchema = z.strictObject({
  /** Days after an event's last delivery finished before its personal content is purged (`ponte purge`). */
  days: z.number().int().min(1).default(90),
  /** When the daemon runs the purge (node-cron, in timeZone). One process of those sharing the store runs each; runs less than a minute apart count as one. */
  schedule: cron.default('30 3 * * *'),
});

export const shutdownSchema = z.strictObject({
  /** On SIGTERM, how long in-flight sends and a running poll may take to finish before `ponte run` exits anyway. */
  graceSeconds: z.number().min(0).max(3600).default(30),
});

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a local time HH:MM (24 h)');

export const appioStepSchema = z.strictObject({
  channel: z.literal('appio'),
  /** IO service (its key decides the sender shown in the app). */
  service: z.string().optional(),
});

export const whatsappStepSchema = z.strictObject({
  channel: z.literal('whatsapp'),
  /** An approved UTILITY template. */
  template: z.string().min(1),
  language: z.string().default('it'),
  /** Template expressions for the header text parameter, body parameters and button parameters. */
  header: z.string().optional(),
  body: z.array(z.string()).default([]),
  buttons: z.array(z.strictObject({ type: z.enum(['url', 'quick_reply']), index: z.number().int().min(0).max(9), value: z.string() })).default([]),
});

export const deliverStepSchema = z.discriminatedUnion('channel', [appioStepSchema, whatsappStepSchema]);

export const quietHoursSchema = z.strictObject({ from: hhmm, to: hhmm });

export const routeSchema = z.strictObject({
  /** first: the first channel that can deliver (fall through on skipped/rejected); all: every channel. */
  mode: z.enum(['first', 'all']).default('first'),
  channels: z.array(deliverStepSchema).min(1),
  /** Sends due inside these local hours (Europe/Rome) wait for their end; never dropped. */
  quietHours: quietHoursSchema.optional(),
});

/** `deliver:` is either a list of channels (mode first) or a full route. */
const routeInput = z.union([
  z.array(deliverStepSchema).min(1).transform((channels) => ({ mode: 'first' as const, channels, quietHours: undefined, listForm: true })),
  routeSchema.transform((r) => ({ ...r, listForm: false })),
]);

export const connectorInstanceSchema = z.strictObject({
  id,
  /** Built-in connector name (connectors/<name>) or a path to a module. */
  use: z.string().min(1),
  schedule: cron,
  enabled: z.boolean().default(true),
  deliver: routeInput,
  /** Per event type overrides of `deliver`. */
  routes: z.record(z.string(), routeInput).default({}),
  /** Validated by the connector's own schema. */
  config: z.record(z.string(), z.unknown()).default({}),
  /**
   * How long a poll's lease lasts without renewal (renewed every third of it while the poll runs).
   * A process killed mid-poll holds the connector for at most this long: then another takes over.
   */
  leaseSeconds: z.number().int().min(10).max(3600).optional(),
});

/**
 * The citizens' WhatsApp service (issue 7): menu bot, topics, FAQ, hand-off and broadcasts. Its
 * menus and texts live in their own files; the templates broadcasts may use are the approved
 * ones under channels.whatsapp.templates, with the category Meta approved them in.
 */
export const citizenServiceSchema = z.strictObject({
  enabled: z.boolean().default(true),
  file: z.string().default('config/citizen-service.yaml'),
  faq: z.string().default('config/faq.yaml'),
  // Declared here once, for broadcasts only; one list for every use now lives with the channel.
  templates: z.unknown().refine((v) => v === undefined, {
    message: 'moved: declare the approved templates once, under channels.whatsapp.templates, each with its category and languages '
      + '(allerta_meteo: { category: utility, languages: [it], params: 1 })',
  }).optional(),
  /**
   * News and civil-protection feeds (RSS or Atom, by URL or local file) polled on a schedule:
   * each new item becomes a broadcast to `topic` with the template's parameters taken from it.
   */
  feeds: z.array(z.strictObject({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,60}$/, 'lower-case letters, digits and dashes'),
    url: z.string().min(1),
    topic: z.string().min(1),
    template: z.string().min(1),
    params: z.array(z.enum(['title', 'link', 'summary'])).min(1).default(['title', 'link']),
    urgent: z.boolean().default(false),
    schedule: cron.default('0 */10 * * * *'),
  })).default([]),
  /** Share of the daily messaging limit kept free for reminders of individual events. */
  reminderReserve: z.number().min(0).max(0.9).default(0.1),
  /** Broadcasts not marked urgent wait for the end of these hours (Europe/Rome by default). */
  quietHours: z.strictObject({ from: hhmm, to: hhmm }).default({ from: '21:00', to: '08:00' }),
});

export const configSchema = z.strictObject({
  timeZone: z.string().default('Europe/Rome'),
  store: storeSchema.prefault({}),
  log: z.strictObject({ level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info') }).prefault({}),
  sandbox: sandboxSchema.optional(),
  channels: z.strictObject({ appio: appioSchema.optional(), whatsapp: whatsappSchema.optional() }).prefault({}),
  server: serverSchema.prefault({}),
  dispatcher: dispatcherSchema.prefault({}),
  retention: retentionSchema.prefault({}),
  shutdown: shutdownSchema.prefault({}),
  citizenService: citizenServiceSchema.optional(),
  connectors: z.array(connectorInstanceSchema).default([]),
}).superRefine((cfg, ctx) => {
  const seen = new Set<string>();
  cfg.connectors.forEach((c, i) => {
    if (seen.has(c.id)) ctx.addIssue({ code: 'custom', path: ['connectors', i, 'id'], message: `duplicate connector id "${c.id}"` });
    seen.add(c.id);
    const routes: Array<[PropertyKey[], z.infer<typeof routeInput>]> = [
      [['connectors', i, 'deliver'], c.deliver],
      ...Object.entries(c.routes).map(([type, r]): [PropertyKey[], z.infer<typeof routeInput>] => [['connectors', i, 'routes', type], r]),
    ];
    for (const [path, route] of routes) {
      route.channels.forEach((step, j) => {
        const at = route.listForm ? [...path, j] : [...path, 'channels', j];
        if (!cfg.channels[step.channel]) ctx.addIssue({ code: 'custom', path: [...at, 'channel'], message: `channel ${step.channel} is not configured under channels.${step.channel}` });
        const io = cfg.channels.appio;
        if (step.channel === 'appio' && io && step.service && !io.services[step.service]) ctx.addIssue({ code: 'custom', path: [...at, 'service'], message: `unknown IO service "${step.service}" (known: ${Object.keys(io.services).join(', ')})` });
        const wa = cfg.channels.whatsapp;
        if (step.channel === 'whatsapp' && wa && Object.keys(wa.templates).length) {
          for (const problem of approvedTemplateProblems(step, wa.templates)) ctx.addIssue({ code: 'custom', path: [...at, ...problem.path], message: problem.message });
        }
      });
    }
  });
});

export type PonteConfig = z.infer<typeof configSchema>;
export type ConnectorInstanceConfig = z.infer<typeof connectorInstanceSchema>;
export type DispatcherConfig = z.infer<typeof dispatcherSchema>;
export type OnUncertain = DispatcherConfig['onUncertain'];
export type AppioConfig = z.infer<typeof appioSchema>;
export type DeliverStep = z.infer<typeof deliverStepSchema>;
export type RouteConfig = z.infer<typeof routeInput>;
export type WhatsappConfig = z.infer<typeof whatsappSchema>;
export type RetentionConfig = z.infer<typeof retentionSchema>;

/** The channels a config can configure (channels: in ponte.yaml): the CLI checks names against these, not a list kept by hand. */
export const CHANNEL_NAMES = Object.keys(configSchema.shape.channels.unwrap().shape);
