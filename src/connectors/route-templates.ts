// The WhatsApp template parameters of an instance's routes, checked when the configuration loads
// against the data its connector's events carry (when the connector declares it: declarative
// connectors do). A parameter naming data no event has would fail every delivery of the type.
// A template declared under citizenService.templates is checked against its declaration too:
// Meta refuses a send whose body parameters differ in number from the approved template (132000).
import type { ConnectorInstanceConfig, PonteConfig } from '../config/schema.js';
import type { ConnectorDefinition } from './contract.js';
import { templateProblem } from '../messages/template-check.js';

export type DeclaredTemplates = NonNullable<PonteConfig['citizenService']>['templates'];

export function routeTemplateProblems(settings: ConnectorInstanceConfig, definition: ConnectorDefinition, at: string, declared: DeclaredTemplates = {}): string[] {
  const problems: string[] = [];
  for (const [type, spec] of Object.entries(definition.eventTypes)) {
    const names = spec.dataFields ? new Set(spec.dataFields) : null;
    const override = settings.routes[type];
    const route = override ?? settings.deliver;
    const path = override ? `${at}.routes.${type}` : `${at}.deliver`;
    route.channels.forEach((step, j) => {
      if (step.channel !== 'whatsapp') return;
      const stepPath = route.listForm ? `${path}[${j}]` : `${path}.channels[${j}]`;
      const approved = Object.hasOwn(declared, step.template) ? declared[step.template] : undefined;
      if (approved && step.body.length !== approved.params) {
        problems.push(`${stepPath}.body (event type "${type}"): template "${step.template}" is declared under citizenService.templates with ${approved.params} body parameter(s), ${step.body.length} given`);
      }
      if (approved && step.language !== approved.language) {
        problems.push(`${stepPath}.language (event type "${type}"): template "${step.template}" is declared under citizenService.templates in "${approved.language}", the route sends "${step.language}" (Meta: 132001)`);
      }
      if (!names) return;
      const params: Array<[string, string]> = [
        ...(step.header !== undefined ? [['header', step.header] as [string, string]] : []),
        ...step.body.map((source, k): [string, string] => [`body[${k}]`, source]),
        ...step.buttons.map((b, k): [string, string] => [`buttons[${k}].value`, b.value]),
      ];
      for (const [where, source] of params) {
        const problem = templateProblem(source, names);
        if (problem) problems.push(`${stepPath}.${where} (event type "${type}"): ${problem}`);
      }
    });
  }
  return problems;
}
