// The shape of POST /{version}/{phone-number-id}/messages as whatsapp.md §1 and citizen-service.md
// §1.6 describe it, for the message types the sandbox serves: template, text, interactive (list and
// reply buttons), image and document. Declared with zod, so every rule is data, and a refusal names
// the field as "template.components[0].parameters[1].text" or "interactive.action.sections[0].rows".
import { z } from 'zod';

// Meta also accepts "-", "()" and spaces, and without "+" prepends the *business* number's
// country code (§1): the sandbox is stricter than Meta so that a sender's missing "+" shows.
const E164 = /^\+[1-9]\d{6,14}$/;
const TO_RULE =
  'to must be an E.164 number with a leading "+" (e.g. +393471234567): without "+" Meta prepends the business number\'s country code';

// Meta: "Param text cannot have new-line/tab characters or more than 4 consecutive spaces" (132018).
const paramText = z
  .string()
  .min(1)
  .refine((s) => !/[\n\t]| {5}/.test(s), {
    message: 'cannot have new-line/tab characters or more than 4 consecutive spaces',
    params: { code: 132018 },
  });

const text = z.object({ type: z.literal('text'), text: paramText, parameter_name: z.string().optional() });
const payload = z.object({ type: z.literal('payload'), payload: z.string().min(1) });
const currency = z.object({
  type: z.literal('currency'),
  currency: z.object({ fallback_value: z.string().min(1), code: z.string().length(3), amount_1000: z.number().int() }),
});
// Older docs add day_of_week, year …: accepted and ignored.
const dateTime = z.object({ type: z.literal('date_time'), date_time: z.looseObject({ fallback_value: z.string().min(1) }) });
const mediaRef = z
  .object({ link: z.url().optional(), id: z.string().optional(), filename: z.string().optional() })
  .refine((m) => m.link !== undefined || m.id !== undefined, 'needs a link or an id');
const image = z.object({ type: z.literal('image'), image: mediaRef });
const video = z.object({ type: z.literal('video'), video: mediaRef });
const document = z.object({ type: z.literal('document'), document: mediaRef });

const header = z.object({
  type: z.literal('header'),
  parameters: z.array(z.discriminatedUnion('type', [text, image, video, document])).min(1),
});
const body = z.object({
  type: z.literal('body'),
  parameters: z.array(z.discriminatedUnion('type', [text, currency, dateTime])).min(1),
});
const button = z
  .object({
    type: z.literal('button'),
    sub_type: z.enum(['url', 'quick_reply']),
    index: z.union([z.string().regex(/^\d$/, 'a button index 0..9'), z.number().int().min(0).max(9)]),
    parameters: z.array(z.discriminatedUnion('type', [text, payload])).length(1),
  })
  .refine((b) => b.parameters[0]?.type === (b.sub_type === 'url' ? 'text' : 'payload'), {
    message: 'a url button takes a text parameter (the URL suffix), a quick_reply button a payload',
    path: ['parameters', 0, 'type'],
  });

const common = {
  messaging_product: z.literal('whatsapp'),
  recipient_type: z.literal('individual').optional(),
  to: z.string().regex(E164, TO_RULE),
  biz_opaque_callback_data: z.string().max(512).optional(),
  context: z.object({ message_id: z.string().min(1) }).optional(),
};

export const templateMessage = z.object({
  ...common,
  type: z.literal('template'),
  template: z.object({
    name: z.string().regex(/^[a-z0-9_]{1,512}$/, 'a template name (a-z, 0-9, _)'),
    language: z.object({ code: z.string().min(1), policy: z.literal('deterministic').optional() }),
    components: z.array(z.discriminatedUnion('type', [header, body, button])).optional(),
  }),
});

export const textMessage = z.object({
  ...common,
  type: z.literal('text'),
  text: z.object({ body: z.string().min(1).max(4096), preview_url: z.boolean().optional() }),
});

// Free-form messages (window only, like text). Meta's limits: citizen-service.md §1.6 and §1.5.
const chars = (max: number) => z.string().min(1, 'must not be empty').max(max, `at most ${max} characters`);

// A media message is sent by an uploaded id or by a link, not both.
const mediaMessageRef = z
  .object({
    id: z.string().min(1).optional(),
    link: z.url().optional(),
    caption: z.string().max(1024, 'at most 1024 characters').optional(),
    filename: z.string().min(1).optional(),
  })
  .refine((m) => (m.link === undefined) !== (m.id === undefined), 'needs exactly one of link or id');

export const imageMessage = z.object({
  ...common,
  type: z.literal('image'),
  image: mediaMessageRef.refine((m) => m.filename === undefined, { message: 'an image has no filename (documents do)', path: ['filename'] }),
});

export const documentMessage = z.object({ ...common, type: z.literal('document'), document: mediaMessageRef });

const textHeader = z.object({ type: z.literal('text'), text: chars(60) });
const bodyText = (max: number) => z.object({ text: chars(max) });
const footer = z.object({ text: chars(60) });

/** Adds an issue at each repeated value: Meta wants reply titles and ids, and row ids, unique. */
function unique(values: Array<[PropertyKey[], string]>, what: string, ctx: z.RefinementCtx): void {
  const seen = new Set<string>();
  for (const [path, v] of values) {
    if (seen.has(v)) ctx.addIssue({ code: 'custom', path, message: `${what} "${v}" is repeated (must be unique)` });
    seen.add(v);
  }
}

const replyButton = z.object({ type: z.literal('reply'), reply: z.object({ id: chars(256), title: chars(20) }) });

const buttonInteractive = z
  .object({
    type: z.literal('button'),
    header: z.discriminatedUnion('type', [textHeader, image, video, document]).optional(),
    body: bodyText(1024),
    footer: footer.optional(),
    action: z.object({ buttons: z.array(replyButton).min(1, 'at least 1 reply button').max(3, 'at most 3 reply buttons') }),
  })
  .superRefine((m, ctx) => {
    unique(m.action.buttons.map((b, i) => [['action', 'buttons', i, 'reply', 'title'], b.reply.title]), 'button title', ctx);
    unique(m.action.buttons.map((b, i) => [['action', 'buttons', i, 'reply', 'id'], b.reply.id]), 'button id', ctx);
  });

const row = z.object({ id: chars(200), title: chars(24), description: z.string().max(72, 'at most 72 characters').optional() });
const section = z.object({ title: chars(24).optional(), rows: z.array(row).min(1, 'at least 1 row').max(10, 'at most 10 rows') });

const listInteractive = z
  .object({
    type: z.literal('list'),
    header: textHeader.optional(),
    body: bodyText(4096),
    footer: footer.optional(),
    action: z.object({ button: chars(20), sections: z.array(section).min(1, 'at least 1 section').max(10, 'at most 10 sections') }),
  })
  .superRefine((m, ctx) => {
    const sections = m.action.sections;
    const total = sections.reduce((n, s) => n + s.rows.length, 0);
    if (total > 10) ctx.addIssue({ code: 'custom', path: ['action', 'sections'], message: `at most 10 rows over all sections (it has ${total})` });
    if (sections.length > 1) {
      sections.forEach((s, i) => {
        if (s.title === undefined) ctx.addIssue({ code: 'custom', path: ['action', 'sections', i, 'title'], message: 'required when there is more than one section' });
      });
    }
    unique(sections.flatMap((s, i) => s.rows.map((r, j): [PropertyKey[], string] => [['action', 'sections', i, 'rows', j, 'id'], r.id])), 'row id', ctx);
  });

export const interactiveMessage = z.object({
  ...common,
  type: z.literal('interactive'),
  interactive: z.discriminatedUnion('type', [buttonInteractive, listInteractive], {
    error: 'must be "button" or "list" (the interactive messages this sandbox serves)',
  }),
});

const MESSAGE_TYPES = ['template', 'text', 'interactive', 'image', 'document'] as const;

export const sendRequest = z.discriminatedUnion('type', [templateMessage, textMessage, interactiveMessage, imageMessage, documentMessage], {
  error: `must be one of ${MESSAGE_TYPES.map((t) => `"${t}"`).join(', ')} (the message types this sandbox serves)`,
});

/** Any message the sandbox accepts. */
export type CloudMessage = z.infer<typeof sendRequest>;

/**
 * A message as state.ts records it and server.ts routes it: template or text. An interactive or
 * media message is recorded as text (a one-line summary with its ids), which also puts it under
 * the 24 h window rule as Meta does for every free-form message.
 */
export type SendRequest = Extract<CloudMessage, { type: 'template' | 'text' }>;

function recorded(m: CloudMessage): SendRequest {
  if (m.type === 'template' || m.type === 'text') return m;
  return {
    messaging_product: m.messaging_product,
    to: m.to,
    ...(m.recipient_type !== undefined ? { recipient_type: m.recipient_type } : {}),
    ...(m.biz_opaque_callback_data !== undefined ? { biz_opaque_callback_data: m.biz_opaque_callback_data } : {}),
    ...(m.context !== undefined ? { context: m.context } : {}),
    type: 'text',
    text: { body: summary(m) },
  };
}

function summary(m: Exclude<CloudMessage, SendRequest>): string {
  switch (m.type) {
    case 'interactive': {
      const i = m.interactive;
      const options = i.type === 'button' ? i.action.buttons.map((b) => b.reply) : i.action.sections.flatMap((s) => s.rows);
      return [`[interactive ${i.type}] ${i.body.text}`, ...options.map((o) => `${o.id}: ${o.title}`)].join('\n');
    }
    case 'image':
      return `[image] ${m.image.link ?? m.image.id}${m.image.caption !== undefined ? ` ${m.image.caption}` : ''}`;
    case 'document':
      return `[document] ${m.document.link ?? m.document.id}${m.document.filename !== undefined ? ` ${m.document.filename}` : ''}`;
  }
}

/** A refusal: the Meta code to answer with and details naming every failing field. */
export interface Invalid {
  code: number;
  details: string;
}

export function validateSend(
  input: unknown,
): { ok: true; request: SendRequest; message: CloudMessage } | { ok: false; invalid: Invalid } {
  const mismatch = typeMismatch(input);
  if (mismatch) return { ok: false, invalid: { code: 100, details: mismatch } };
  const parsed = sendRequest.safeParse(input, { reportInput: true });
  if (parsed.success) return { ok: true, request: recorded(parsed.data), message: parsed.data };
  const issues = parsed.error.issues;
  const lines = issues.map((i) => `${fieldPath(i.path)}: ${i.message}`);
  // A missing field is Meta's 131008; a custom rule may name its own code; anything else is 100.
  const first = issues[0]!;
  const custom = first.code === 'custom' ? (first.params as { code?: number } | undefined)?.code : undefined;
  const missing = first.code === 'invalid_type' && first.input === undefined;
  return { ok: false, invalid: { code: custom ?? (missing ? 131008 : 100), details: [...new Set(lines)].join('; ') } };
}

/** `type` names one kind of message while the body carries another's object: the type is what is wrong. */
function typeMismatch(input: unknown): string | null {
  if (input === null || typeof input !== 'object') return null;
  const m = input as Record<string, unknown>;
  const type = m.type;
  if (typeof type !== 'string' || !(MESSAGE_TYPES as readonly string[]).includes(type) || m[type] !== undefined) return null;
  const carried = MESSAGE_TYPES.filter((t) => m[t] !== undefined);
  if (carried.length === 0) return null;
  return `type: is "${type}" but the message carries ${carried.map((t) => `"${t}"`).join(', ')} and no "${type}" object`;
}

/** ["template","components",0,"parameters",1,"text"] → "template.components[0].parameters[1].text". */
function fieldPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, p) => (typeof p === 'number' ? `${out}[${p}]` : out ? `${out}.${String(p)}` : String(p)), '') || '(body)';
}
