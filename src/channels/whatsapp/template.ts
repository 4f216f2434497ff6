// From a routing step's template mapping and an event's data to the Cloud API `template` object
// (whatsapp.md §1). Each parameter is a Ponte template expression rendered with renderTemplate,
// so a missing value fails the delivery instead of reaching a citizen as "undefined".
import { z } from 'zod';
import { ChannelError } from '../channel.js';
import { TemplateError, renderTemplate } from '../../messages/template.js';
import { localeFor } from '../../messages/render.js';

/** ctx.options of a WhatsApp routing step (the `channel` key is not part of it). */
export const templateMappingSchema = z.object({
  // Meta's rule for template names: lower-case letters, digits and underscores.
  template: z.string().regex(/^[a-z0-9_]{1,512}$/, 'an approved template name (a-z, 0-9, _)'),
  // The approved translation, exactly as in WhatsApp Manager ("it", "en_US"): else 132001.
  language: z.string().regex(/^[a-z]{2,3}(_[A-Z]{2,4})?$/, 'a template language code like "it" or "en_US"').default('it'),
  header: z.string().optional(),
  body: z.array(z.string()).default([]),
  buttons: z
    .array(z.object({ type: z.enum(['url', 'quick_reply']), index: z.number().int().min(0).max(9), value: z.string() }))
    .default([]),
});

export type TemplateMapping = z.infer<typeof templateMappingSchema>;

export type TextParameter = { type: 'text'; text: string };
export type PayloadParameter = { type: 'payload'; payload: string };

export type TemplateComponent =
  | { type: 'header'; parameters: TextParameter[] }
  | { type: 'body'; parameters: TextParameter[] }
  | { type: 'button'; sub_type: 'url'; index: string; parameters: TextParameter[] }
  | { type: 'button'; sub_type: 'quick_reply'; index: string; parameters: PayloadParameter[] };

/** The Cloud API `template` object of a send. */
export interface WhatsappTemplate {
  name: string;
  language: { code: string; policy: 'deterministic' };
  components: TemplateComponent[];
}

/** The mapping in ctx.options, validated; a bad one is a permanent error naming the field. */
export function parseMapping(options: Record<string, unknown>, eventType: string): TemplateMapping {
  const parsed = templateMappingSchema.safeParse(options);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(options)'}: ${i.message}`);
  throw new ChannelError(`whatsapp: template mapping of event type "${eventType}": ${issues.join('; ')}`, 'permanent');
}

export interface RenderOptions {
  timeZone: string;
  eventType: string;
}

/** Renders every parameter of `mapping` against `data`. Throws ChannelError('permanent') naming the parameter. */
export function buildTemplate(mapping: TemplateMapping, data: Record<string, unknown>, opts: RenderOptions): WhatsappTemplate {
  const code = mapping.language;
  // Date filters speak the template's language: "it" → it-IT, a bare "en" → en-GB as on IO (not
  // Intl's American "en"), "en_US" → en-US. Times are on the 24-hour clock in every one.
  const locale = localeFor(code);
  const render = (where: string, source: string): string => {
    let text: string;
    try {
      text = renderTemplate(source, data, { timeZone: opts.timeZone, locale });
    } catch (err) {
      const why = err instanceof TemplateError || err instanceof Error ? err.message : String(err);
      throw new ChannelError(`whatsapp: event type "${opts.eventType}", ${where}: ${why}`, 'permanent');
    }
    const param = oneLine(text);
    if (param === '') {
      throw new ChannelError(`whatsapp: event type "${opts.eventType}", ${where} rendered empty (Meta refuses empty parameters)`, 'permanent');
    }
    return param;
  };

  const components: TemplateComponent[] = [];
  if (mapping.header !== undefined) {
    components.push({ type: 'header', parameters: [{ type: 'text', text: render('header', mapping.header) }] });
  }
  if (mapping.body.length > 0) {
    const parameters = mapping.body.map((source, i): TextParameter => ({ type: 'text', text: render(`body[${i}]`, source) }));
    components.push({ type: 'body', parameters });
  }
  mapping.buttons.forEach((b, i) => {
    const value = render(`buttons[${i}]`, b.value);
    const index = String(b.index);
    components.push(
      b.type === 'url'
        ? { type: 'button', sub_type: 'url', index, parameters: [{ type: 'text', text: value }] }
        : { type: 'button', sub_type: 'quick_reply', index, parameters: [{ type: 'payload', payload: value }] },
    );
  });
  return { name: mapping.template, language: { code, policy: 'deterministic' }, components };
}

/**
 * Meta refuses text parameters with new-lines, tabs or more than 4 consecutive spaces; a
 * multi-line back-office value (an address) would fail every time, so such runs become one space.
 */
function oneLine(text: string): string {
  return text.replace(/\s*[\r\n\t]\s*|\s{5,}/g, ' ').trim();
}
