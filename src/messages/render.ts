// Turns an event type's templates and an event's data into the message a channel sends.
import type { EventTypeSpec, MessageTemplate } from '../connectors/contract.js';
import type { RenderedMessage } from '../channels/channel.js';
import { TemplateError, renderTemplate, type TemplateOptions } from './template.js';
import { elideBeforeDays } from './italian-articles.js';
import { escapeMarkdown } from './markdown-escape.js';

export interface RenderMessageOptions {
  /** Named in errors, so an operator knows which event type's template is broken. */
  eventType?: string;
  /** Time zone for date filters. Default "Europe/Rome". */
  timeZone?: string;
}

// Date formatting locale per template language; IO's own languages first.
const LOCALES: Record<string, string> = { it: 'it-IT', en: 'en-GB', de: 'de-DE', fr: 'fr-FR', es: 'es-ES', sl: 'sl-SI' };

/** "en_GB", "EN-gb", " en " → "en". */
export function primaryLanguage(language: string): string {
  return language.trim().split(/[-_]/)[0]!.toLowerCase();
}

/**
 * The formatting locale of a language: "it" → "it-IT", a bare "en" → "en-GB" (Intl's bare "en"
 * is American); one with its region keeps it ("en_US" → "en-US", a template approved so).
 */
export function localeFor(language: string): string {
  const [lang, region] = language.trim().split(/[-_]/);
  if (region) return `${lang!.toLowerCase()}-${region.toUpperCase()}`;
  return LOCALES[lang!.toLowerCase()] ?? lang!.toLowerCase();
}

/** The template language used for `language`: itself when the spec has it, else "it". */
export function chooseLanguage(spec: EventTypeSpec, language?: string): string {
  const lang = language ? primaryLanguage(language) : 'it';
  return Object.hasOwn(spec.templates, lang) ? lang : 'it';
}

export function renderMessage(
  spec: EventTypeSpec,
  data: Record<string, unknown>,
  language?: string,
  opts: RenderMessageOptions = {},
): RenderedMessage {
  const lang = chooseLanguage(spec, language);
  const template: MessageTemplate = spec.templates[lang] ?? spec.templates.it;
  const locale = LOCALES[lang] ?? lang;
  // IO shows the subject as plain text (a backslash would show); the markdown is parsed, so its
  // values are escaped while the template's own **bold** and links stay markup. Literal objects,
  // not spreads: a spread per message cost more than the escaping itself.
  const options: Record<'subject' | 'markdown', TemplateOptions> = opts.timeZone
    ? { subject: { locale, timeZone: opts.timeZone }, markdown: { locale, timeZone: opts.timeZone, escape: escapeMarkdown } }
    : { subject: { locale }, markdown: { locale, escape: escapeMarkdown } };
  const part = (name: 'subject' | 'markdown'): string => {
    try {
      return renderTemplate(template[name], data, options[name]);
    } catch (e) {
      if (!(e instanceof TemplateError)) throw e;
      const where = `${opts.eventType ? `event type "${opts.eventType}", ` : ''}${lang} ${name}`;
      throw new TemplateError(`${where}: ${e.message}`, {
        ...(e.variable !== undefined ? { variable: e.variable } : {}),
        ...(e.filter !== undefined ? { filter: e.filter } : {}),
        ...(opts.eventType !== undefined ? { eventType: opts.eventType } : {}),
        part: name,
        language: lang,
      });
    }
  };
  const tidy = lang === 'it' ? elideBeforeDays : (text: string) => text;
  return { subject: tidy(part('subject')), markdown: tidy(part('markdown')), language: lang };
}
