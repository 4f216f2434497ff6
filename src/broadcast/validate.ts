// A broadcast is checked in full before anything is written: its channel (never IO), its topic,
// its template (declared under channels.whatsapp.templates, with the category Meta approved,
// matching the topic's) and its segment.
import type { CitizenService, Topic } from '../citizen/service/index.js';
import type { z } from 'zod';
import type { citizenServiceSchema } from '../config/schema.js';
import type { Segment } from './audience.js';
import { FISCAL_CODE_SHAPE } from '../util/fiscal-code.js';
import type { ApprovedTemplates } from '../config/whatsapp-templates.js';

const FISCAL_CODE_TOKEN = new RegExp(`(?<![A-Za-z0-9])${FISCAL_CODE_SHAPE}(?![A-Za-z0-9])`, 'i');

export type CitizenServiceSettings = z.output<typeof citizenServiceSchema>;

export class BroadcastError extends Error {
  override name = 'BroadcastError';
}

export interface BroadcastRequest {
  /** Stable key: creating the same broadcast twice (a retry, a crash) fans out once. */
  key: string;
  topic: string;
  template: string;
  params: string[];
  segment?: Segment | null;
  /** Alerts that must not wait for the end of quiet hours. */
  urgent?: boolean;
  /** Epoch ms; default now. */
  at?: number;
  /** Only "whatsapp" is accepted; "appio" is refused with the reason. */
  channel?: string;
  source: string;
}

export const IO_REFUSAL =
  'broadcasts never go to IO: PagoPA\'s rules allow only personal messages addressed to one citizen about their own service ' +
  '("è escluso sia l\'invio di comunicazioni massive … sia l\'invio a utenti che non siano destinatari diretti dei servizi"); ' +
  'send it to the WhatsApp subscribers of a topic instead';

const CATEGORY_WHY: Record<'utility' | 'marketing', string> = {
  utility: 'severe weather, emergencies and service disruptions are UTILITY for Meta',
  marketing: 'news, events and generic deadlines are MARKETING for Meta',
};

export function validateBroadcast(req: BroadcastRequest, service: CitizenService, templates: ApprovedTemplates): { topic: Topic; language: string } {
  if (req.channel && req.channel !== 'whatsapp') {
    if (req.channel === 'appio') throw new BroadcastError(IO_REFUSAL);
    throw new BroadcastError(`channel "${req.channel}": broadcasts go only to WhatsApp`);
  }
  if (!req.key.trim()) throw new BroadcastError('key: a broadcast needs a non-empty key');
  const topic = service.topics.find((t) => t.id === req.topic);
  if (!topic) throw new BroadcastError(`topic "${req.topic}" is not configured (known: ${service.topics.map((t) => t.id).join(', ')})`);
  const tpl = Object.hasOwn(templates, req.template) ? templates[req.template] : undefined;
  if (!tpl) {
    const known = Object.keys(templates);
    throw new BroadcastError(`template "${req.template}" is not declared under channels.whatsapp.templates in the config (declared: ${known.join(', ') || 'none'}); declare it with the category Meta approved it in`);
  }
  if (tpl.category !== topic.category) {
    throw new BroadcastError(
      `template "${req.template}" is approved as ${tpl.category.toUpperCase()} but topic "${topic.id}" is ${topic.category.toUpperCase()} ` +
      `(${CATEGORY_WHY[topic.category]}): choose a ${topic.category.toUpperCase()} template; nothing was sent`);
  }
  if (req.params.length !== tpl.params) {
    throw new BroadcastError(`template "${req.template}" takes ${tpl.params} body parameter(s), ${req.params.length} given`);
  }
  req.params.forEach((p, i) => {
    // Meta refuses new lines, tabs and long runs of spaces in parameters (132018).
    if (!p.trim() || /[\r\n\t]| {5}/.test(p)) throw new BroadcastError(`params[${i}]: must be non-empty, without new lines, tabs or more than 4 spaces in a row`);
    // The same text goes to every subscriber: one citizen's fiscal code in it would go to all of them.
    if (FISCAL_CODE_TOKEN.test(p)) throw new BroadcastError(`params[${i}]: holds a fiscal code; a broadcast goes to every subscriber, so it must carry no one's personal data; nothing was sent`);
  });
  for (const [attr, values] of Object.entries(req.segment ?? {})) {
    const def = service.profile?.attributes[attr];
    if (!def) throw new BroadcastError(`segment: unknown attribute "${attr}" (known: ${Object.keys(service.profile?.attributes ?? {}).join(', ') || 'none'})`);
    const ids = def.options.map((o) => o.id);
    for (const v of values) if (!ids.includes(v)) throw new BroadcastError(`segment.${attr}: unknown value "${v}" (known: ${ids.join(', ')})`);
  }
  // A broadcast goes to all in one language: the template's first approved one.
  return { topic, language: tpl.languages[0]! };
}
