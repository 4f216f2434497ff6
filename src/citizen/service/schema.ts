// The shape of config/citizen-service.yaml: the citizens' WhatsApp service as data (entry words,
// topics, menus, answers, hand-off, texts). Objects are strict, so a misspelt field is named.
// Limits that depend on how a menu is shown, and references between parts, are checked in
// check.ts once the shape is right.
import { z } from 'zod';
import { BARE_ACTIONS, SYSTEM_ID_PREFIX, type Menu, type MenuAction } from './menu.js';
import { LIMITS, tooLong } from './limits.js';
import { TEXT_DEFAULTS, TEXT_PLACEHOLDERS, placeholderProblem, type TextKey, type Texts } from './texts.js';
import { parseOfficeHours } from './office-hours.js';
import { isValidTimeZone } from '../../util/local-time.js';
import { secureUrl } from '../../config/secure-url.js';

const text = (max: number, what = 'for a message') =>
  z.string().min(1, 'must not be empty').superRefine((s, ctx) => {
    const problem = tooLong(s, max, what);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

const key = (what: string) => z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, `${what}: lower-case letters, digits, - and _ (max 64)`);
const envName = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name (A-Z, 0-9, _)');
const webUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });

const optionId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9:._\/-]*$/, 'an option id: letters, digits and : . _ / - (e.g. "info:orari")')
  .refine((s) => !s.startsWith(SYSTEM_ID_PREFIX), `ids starting with "${SYSTEM_ID_PREFIX}" are reserved for menus the bot builds`);

const ACTION_HELP = `an action: ${BARE_ACTIONS.join(', ')}, or menu/answer/subscribe/unsubscribe with a target ("menu: info" as { menu: info })`;
const TARGETED = ['menu', 'answer', 'subscribe', 'unsubscribe'] as const;
type Targeted = (typeof TARGETED)[number];

function targeted(kind: Targeted, target: string): MenuAction {
  switch (kind) {
    case 'menu':
      return { kind, menu: target };
    case 'answer':
      return { kind, answer: target };
    default:
      return { kind, topic: target };
  }
}

/** `topics`, `"menu:info"` or `{ menu: info }`. */
export const actionSchema = z.unknown().transform((v, ctx): MenuAction => {
  const fail = (message: string) => {
    ctx.issues.push({ code: 'custom', message, input: v });
    return z.NEVER;
  };
  let kind: string;
  let target: unknown;
  if (typeof v === 'string') {
    const at = v.indexOf(':');
    kind = (at < 0 ? v : v.slice(0, at)).trim();
    target = at < 0 ? undefined : v.slice(at + 1).trim();
  } else if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 1) {
    [[kind, target]] = Object.entries(v) as [[string, unknown]];
  } else return fail(`must be ${ACTION_HELP}`);

  if ((BARE_ACTIONS as readonly string[]).includes(kind)) {
    return target === undefined || target === null || target === '' ? { kind: kind as (typeof BARE_ACTIONS)[number] } : fail(`"${kind}" takes no target`);
  }
  if ((TARGETED as readonly string[]).includes(kind)) {
    if (typeof target !== 'string' || target === '') return fail(`"${kind}" needs a target id (e.g. { ${kind}: ${kind === 'menu' ? 'info' : kind === 'answer' ? 'orari' : 'meteo'} })`);
    return targeted(kind as Targeted, target);
  }
  return fail(`unknown action "${kind}": must be ${ACTION_HELP}`);
});

export const optionSchema = z.strictObject({
  id: optionId,
  title: z.string().min(1, 'must not be empty'),
  description: z.string().min(1).optional(),
  keywords: z.array(z.string().min(1)).default([]),
  action: actionSchema,
});

// Lengths here depend on how the menu is shown (list or buttons): see limits.ts menuProblems.
export const menuSchema = z.strictObject({
  header: z.string().min(1).optional(),
  body: z.string().min(1, 'must not be empty'),
  footer: z.string().min(1).optional(),
  button: z.string().min(1).optional(),
  section: z.string().min(1).optional(),
  options: z.array(optionSchema),
});

export const topicSchema = z.strictObject({
  id: key('a topic id'),
  title: z.string().min(1),
  description: z.string().min(1),
  /** The word of "ISCRIVIMI METEO" / "STOP METEO". */
  keyword: z.string().min(1),
  /** Meta category of the broadcasts of this topic (citizen-service.md §1.1). */
  category: z.enum(['utility', 'marketing']),
});

const profileOption = z.strictObject({ id: key('a profile value'), title: z.string().min(1), description: z.string().min(1).optional() });

export const profileSchema = z.strictObject({
  /** Why we ask: shown before the first question. */
  why: text(LIMITS.body),
  attributes: z.record(
    z.string().regex(/^[a-zA-Z][a-zA-Z0-9_]{0,39}$/, 'an attribute name: letters, digits and _ (e.g. ageBand)'),
    z.strictObject({
      question: z.string().min(1),
      /** List button label when the question has 4+ options. */
      button: z.string().min(1).optional(),
      options: z.array(profileOption).min(1),
    }),
  ),
});

const media = z
  .strictObject({
    type: z.enum(['image', 'document']),
    link: webUrl.optional(),
    /** A media id from POST /<PHONE_NUMBER_ID>/media (valid 30 days). */
    id: z.string().min(1).optional(),
    filename: z.string().min(1).optional(),
    caption: text(LIMITS.caption, 'for a caption').optional(),
  })
  .superRefine((m, ctx) => {
    if ((m.link === undefined) === (m.id === undefined)) ctx.addIssue({ code: 'custom', message: 'needs exactly one of link or id' });
    if (m.filename !== undefined && m.type !== 'document') ctx.addIssue({ code: 'custom', path: ['filename'], message: 'only a document has a filename' });
  });

export const answerSchema = z.strictObject({
  text: text(LIMITS.body),
  links: z.array(z.strictObject({ title: z.string().min(1), url: webUrl })).default([]),
  media: media.optional(),
  /** Reply buttons under the answer. */
  buttons: z
    .array(z.enum(['back', 'home']))
    .default([])
    .refine((b) => new Set(b).size === b.length, 'each button at most once'),
});

export const handoffSchema = z
  .strictObject({
    officeHours: z.union([z.string(), z.array(z.string()).min(1)]),
    timezone: z.string().default('Europe/Rome').refine(isValidTimeZone, 'not an IANA time zone (e.g. Europe/Rome)'),
    /** Out of hours; {{next}} = when someone will answer. */
    closedText: text(LIMITS.body).superRefine((s, ctx) => {
      const problem = placeholderProblem(s, ['next']);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
    /** The staff's HTTP endpoint; the token only through the environment variable named here. */
    endpoint: z.strictObject({ url: secureUrl('the staff token (and the conversation)'), tokenEnv: envName }).optional(),
    /** A web chat with staff. */
    link: webUrl.optional(),
  })
  .refine((h) => h.endpoint !== undefined || h.link !== undefined, 'needs an endpoint (staff HTTP endpoint), a link (web chat) or both')
  .transform((h, ctx) => {
    const spec = Array.isArray(h.officeHours) ? h.officeHours.join(', ') : h.officeHours;
    try {
      return { ...h, officeHours: parseOfficeHours(spec, h.timezone), officeHoursText: spec };
    } catch (e) {
      ctx.issues.push({ code: 'custom', message: (e as Error).message, path: ['officeHours'], input: h.officeHours });
      return z.NEVER;
    }
  });

const textsShape = Object.fromEntries(
  (Object.keys(TEXT_PLACEHOLDERS) as TextKey[]).map((k) => {
    const checked = text(LIMITS.body).superRefine((s, ctx) => {
      const problem = placeholderProblem(s, TEXT_PLACEHOLDERS[k]);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    });
    const fallback = TEXT_DEFAULTS[k];
    return [k, fallback === undefined ? checked : checked.default(fallback)];
  }),
) as unknown as Record<TextKey, z.ZodType<string>>;

export const citizenServiceSchema = z.strictObject({
  /** Words that (re)start the conversation when they are the whole message. */
  entryKeywords: z.array(z.string().min(1)).min(1, 'at least one entry keyword (e.g. "ciao", "menu")'),
  welcome: text(LIMITS.body),
  idleTimeoutMinutes: z.number().int().min(1).max(24 * 60).default(30),
  privacy: z.strictObject({ version: z.string().min(1), text: text(LIMITS.body) }),
  topics: z.array(topicSchema).default([]),
  profile: profileSchema.optional(),
  menus: z.record(key('a menu id'), menuSchema),
  answers: z.record(key('an answer id'), answerSchema).default({}),
  handoff: handoffSchema,
  texts: z.strictObject(textsShape),
});

export type CitizenServiceInput = z.input<typeof citizenServiceSchema>;
export type CitizenServiceParsed = z.output<typeof citizenServiceSchema>;
export type Topic = z.output<typeof topicSchema>;
export type Profile = z.output<typeof profileSchema>;
export type ProfileAttribute = Profile['attributes'][string];
export type Answer = z.output<typeof answerSchema>;
export type AnswerMedia = NonNullable<Answer['media']>;
export type Handoff = z.output<typeof handoffSchema>;

/** The loaded service: the parsed file, with each menu carrying its id. */
export interface CitizenService extends Omit<CitizenServiceParsed, 'menus' | 'texts'> {
  menus: Record<string, Menu>;
  texts: Texts;
}
