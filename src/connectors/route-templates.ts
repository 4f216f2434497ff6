// The WhatsApp template parameters of an instance's routes, checked when the configuration loads
// against the data its connector's events carry (when the connector declares it: declarative
// connectors do). A parameter naming data no event has would fail every delivery of the type.
import type { ConnectorInstanceConfig } from '../config/schema.js';
import type { ConnectorDefinition } from './contract.js';
import { templateProblem } from '../messages/template-check.js';

export function routeTemplateProblems(settings: ConnectorInstanceConfig, definition: ConnectorDefinition, at: string): string[] {
  const problems: string[] = [];
  for (const [type, spec] of Object.entries(definition.eventTypes)) {
    if (!spec.dataFields) continue;
    const names = new Set(spec.dataFields);
    const override = settings.routes[type];
    const route = override ?? settings.deliver;
    const path = override ? `${at}.routes.${type}` : `${at}.deliver`;
    route.channels.forEach((step, j) => {
      if (step.channel !== 'whatsapp') return;
      const stepPath = route.listForm ? `${path}[${j}]` : `${path}.channels[${j}]`;
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
