// WhatsApp steps of the connectors against the templates Meta approved for the number
// (channels.whatsapp.templates): what Meta would refuse at the first send, found at load instead.
import type { PonteConfig } from './schema.js';

type WhatsappStep = { template: string; language: string; header?: string | undefined; body: string[] };
/** channels.whatsapp.templates: every template Meta approved for the number, for connectors and broadcasts alike. */
export type ApprovedTemplates = NonNullable<PonteConfig['channels']['whatsapp']>['templates'];

/** A WhatsApp step against the approved templates: what Meta would refuse (132001, 132000) at the first send. */
export function approvedTemplateProblems(step: WhatsappStep, approved: ApprovedTemplates): Array<{ path: string[]; message: string }> {
  const t = approved[step.template];
  if (!t) return [{ path: ['template'], message: `"${step.template}" is not an approved template under channels.whatsapp.templates (declared: ${Object.keys(approved).join(', ')}); Meta would refuse every send with 132001` }];
  const problems: Array<{ path: string[]; message: string }> = [];
  if (!t.languages.includes(step.language)) problems.push({ path: ['language'], message: `template "${step.template}" has no approved "${step.language}" translation (approved: ${t.languages.join(', ')}); Meta would refuse every send with 132001` });
  if (step.body.length !== t.params) problems.push({ path: ['body'], message: `template "${step.template}" has ${t.params} body parameter(s), this step gives ${step.body.length}; Meta would refuse every send with 132000` });
  if ((step.header !== undefined) !== t.headerParam) problems.push({ path: ['header'], message: t.headerParam ? `template "${step.template}" has a header parameter: give it with header:` : `template "${step.template}" has no header parameter (channels.whatsapp.templates.${step.template}.headerParam)` });
  return problems;
}


/**
 * Why the steps cannot be checked, for the start log: WhatsApp steps with no approved templates
 * declared. Null when they are declared or no connector sends on WhatsApp.
 */
export function undeclaredTemplatesWarning(cfg: PonteConfig): string | null {
  const wa = cfg.channels.whatsapp;
  if (!wa || Object.keys(wa.templates).length) return null;
  const used = new Set<string>();
  for (const c of cfg.connectors) {
    for (const route of [c.deliver, ...Object.values(c.routes)]) {
      for (const step of route.channels) if (step.channel === 'whatsapp') used.add(step.template);
    }
  }
  if (!used.size) return null;
  return `channels.whatsapp.templates is not declared: the templates ${[...used].sort().join(', ')} are checked (name, language, number of parameters) only by Meta, at each send (132001, 132000)`;
}
