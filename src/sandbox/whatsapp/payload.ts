// The shape of POST /{version}/{phone-number-id}/messages as whatsapp.md §1 describes it, for the
// two message types the sandbox serves (template, text). Declared with zod, so every rule is
// data, and a refusal names the field as "template.components[0].parameters[1].text".
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

export const sendRequest = z.discriminatedUnion('type', [templateMessage, textMessage], {
  error: 'type must be "template" or "text" (the message types this sandbox serves)',
});

export type SendRequest = z.infer<typeof sendRequest>;

/** A refusal: the Meta code to answer with and details naming every failing field. */
export interface Invalid {
  code: number;
  details: string;
}

export function validateSend(input: unknown): { ok: true; request: SendRequest } | { ok: false; invalid: Invalid } {
  const parsed = sendRequest.safeParse(input, { reportInput: true });
  if (parsed.success) return { ok: true, request: parsed.data };
  const issues = parsed.error.issues;
  const lines = issues.map((i) => `${fieldPath(i.path)}: ${i.message}`);
  // A missing field is Meta's 131008; a custom rule may name its own code; anything else is 100.
  const first = issues[0]!;
  const custom = first.code === 'custom' ? (first.params as { code?: number } | undefined)?.code : undefined;
  const missing = first.code === 'invalid_type' && first.input === undefined;
  return { ok: false, invalid: { code: custom ?? (missing ? 131008 : 100), details: [...new Set(lines)].join('; ') } };
}

/** ["template","components",0,"parameters",1,"text"] → "template.components[0].parameters[1].text". */
function fieldPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, p) => (typeof p === 'number' ? `${out}[${p}]` : out ? `${out}.${String(p)}` : String(p)), '') || '(body)';
}
