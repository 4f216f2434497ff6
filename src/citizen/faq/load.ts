// Reading config/faq.yaml: YAML → zod (shape) → check.ts (ids, searchable words, lengths,
// synonyms) → Faq. Every problem is reported at once, one per line, as
// "<file>: <path>: <what is wrong>", so staff editing the file can fix them all in one go.
import { z } from 'zod';
import { ConfigError, formatPath, zodProblems } from '../../config/errors.js';
import { parseYamlText, readConfigText } from '../../config/yaml-file.js';
import { checkFaq } from './check.js';
import { Faq } from './faq.js';
import { faqFileSchema } from './schema.js';

export const DEFAULT_FAQ_FILE = 'config/faq.yaml';

/** A ConfigError whose message names the file on every line, so each line can be acted on alone. */
export class FaqConfigError extends ConfigError {
  constructor(file: string, problems: string[]) {
    super(file, problems);
    this.name = 'FaqConfigError';
    this.message = problems.map((p) => `${file}: ${p}`).join('\n');
  }
}

const fail = (file: string, problems: string[]) => new FaqConfigError(file, problems);

// "Invalid input: expected string, received undefined" says less than "required".
const errorMap: z.core.$ZodErrorMap = (issue) => (issue.code === 'invalid_type' && issue.input === undefined ? 'required' : undefined);

export function parseFaq(text: string, file: string = DEFAULT_FAQ_FILE): Faq {
  const parsed = faqFileSchema.safeParse(parseYamlText(text, file, fail), { error: errorMap });
  if (!parsed.success) throw new FaqConfigError(file, [...new Set(zodProblems(parsed.error))]);
  const { problems, vocabulary } = checkFaq(parsed.data);
  if (problems.length) throw new FaqConfigError(file, problems.map((p) => `${formatPath(p.path)}: ${p.message}`));
  return new Faq(parsed.data, vocabulary);
}

export function loadFaq(file: string = DEFAULT_FAQ_FILE): Faq {
  return parseFaq(readConfigText(file, fail), file);
}
