// Templates checked against the data they will be given, when the configuration loads: a
// variable no event can ever carry (a typo, a data name renamed) would otherwise fail every
// event of the type, one identical row error per row, poll after poll.
import { compileTemplate, TemplateError } from './template.js';

/**
 * What is wrong with `source` given the data names an event may carry, or null. A variable is
 * judged by its first segment ("office" of "office.name"); one with a `default(…)` still counts,
 * because a name no event carries would always print the default: a typo, not a choice.
 */
export function templateProblem(source: string, names: ReadonlySet<string>): string | null {
  let variables: string[];
  try {
    variables = compileTemplate(source).variables;
  } catch (e) {
    if (e instanceof TemplateError) return e.message;
    throw e;
  }
  const unknown = [...new Set(variables.map((v) => v.split('.')[0]!).filter((root) => !names.has(root)))];
  if (unknown.length === 0) return null;
  const known = [...names].join(', ') || 'none';
  return `${unknown.map((v) => `"${v}"`).join(', ')} ${unknown.length === 1 ? 'is' : 'are'} not in the event's data (it carries: ${known})`;
}
