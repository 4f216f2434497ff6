// Reading config/citizen-service.yaml: YAML → zod (shape) → check.ts (Meta limits, ids,
// references). Every problem is reported at once, each as "<file>: <path>: <what is wrong>".
import { z } from 'zod';
import { ConfigError, formatPath, zodProblems } from '../../config/errors.js';
import { parseYamlText, readConfigText } from '../../config/yaml-file.js';
import { checkService } from './check.js';
import type { Problem } from './limits.js';
import { citizenServiceSchema, type CitizenService } from './schema.js';

export const DEFAULT_CITIZEN_SERVICE_FILE = 'config/citizen-service.yaml';

/** A ConfigError whose message names the file on every line, so each line can be acted on alone. */
export class CitizenServiceConfigError extends ConfigError {
  constructor(file: string, problems: string[]) {
    super(file, problems);
    this.name = 'CitizenServiceConfigError';
    this.message = problems.map((p) => `${file}: ${p}`).join('\n');
  }
}

export interface LoadedCitizenService {
  service: CitizenService;
  /** "menus.rifiuti: not reachable from menus.home" …: worth showing, not fatal. */
  warnings: string[];
}

const fail = (file: string, problems: string[]) => new CitizenServiceConfigError(file, problems);

const line = (p: Problem) => `${formatPath(p.path)}: ${p.message}`;

// "Invalid input: expected string, received undefined" says less than "required".
const errorMap: z.core.$ZodErrorMap = (issue) => (issue.code === 'invalid_type' && issue.input === undefined ? 'required' : undefined);

function shapeProblems(error: z.ZodError): string[] {
  const keys = error.issues.filter((i) => i.code === 'invalid_key');
  const rest = error.issues.filter((i) => i.code !== 'invalid_key');
  // A bad map key: say which key and why, not "Invalid key in record".
  const keyLines = keys.map((i) => {
    const inner = i.code === 'invalid_key' ? i.issues[0]?.message : undefined;
    return `${formatPath(i.path)}: ${inner ?? i.message}`;
  });
  return [...keyLines, ...zodProblems(new z.ZodError(rest))];
}

export function parseCitizenService(text: string, file: string = DEFAULT_CITIZEN_SERVICE_FILE): LoadedCitizenService {
  const parsed = citizenServiceSchema.safeParse(parseYamlText(text, file, fail), { error: errorMap });
  if (!parsed.success) throw new CitizenServiceConfigError(file, [...new Set(shapeProblems(parsed.error))]);
  const { service, problems, warnings } = checkService(parsed.data);
  if (problems.length) throw new CitizenServiceConfigError(file, [...new Set(problems.map(line))]);
  return { service, warnings: warnings.map(line) };
}

export function loadCitizenService(file: string = DEFAULT_CITIZEN_SERVICE_FILE): LoadedCitizenService {
  return parseCitizenService(readConfigText(file, fail), file);
}
