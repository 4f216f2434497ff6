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

// A code span: a run of backticks up to the next run of the same length, within a paragraph.
const CODE_SPAN = /(?<![`\\])(`+)(?!`)((?:(?!\n[ \t]*\n)[\s\S])*?)(?<!`)\1(?!`)/g;

/**
 * What is wrong with an IO markdown template beyond its names, or null. Its values are
 * backslash-escaped (render.ts), and inside `code` a backslash is shown as it is: a value there
 * would read "2026\_12\_001", and a backtick in it would end the span.
 */
export function markdownTemplateProblem(source: string): string | null {
  const text = source.replace(/\{\{[\s\S]*?\}\}/g, '\u0000');
  for (const m of text.matchAll(CODE_SPAN)) {
    if (m[2]!.includes('\u0000')) return 'a {{ … }} inside `code`: values cannot be shown there as written (use **bold** around it)';
  }
  return null;
}
