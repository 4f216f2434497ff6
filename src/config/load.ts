// Reading config/ponte.yaml (or the file named by --config / PONTE_CONFIG): YAML → zod → typed.
import { configSchema, type PonteConfig } from './schema.js';
import { ConfigError, zodProblems, type PathLabel } from './errors.js';
import { parseYamlText, readConfigText } from './yaml-file.js';

export const DEFAULT_CONFIG_FILE = 'config/ponte.yaml';

export function configFile(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  return explicit ?? env.PONTE_CONFIG ?? DEFAULT_CONFIG_FILE;
}

export function parseConfig(text: string, file: string): PonteConfig {
  const raw = parseYamlText(text, file);
  const result = configSchema.safeParse(raw);
  if (!result.success) throw new ConfigError(file, zodProblems(result.error, [], instanceLabel(raw)));
  return result.data;
}

/**
 * `connectors[0]` → `connectors[0] (mensa)`: staff know their connectors by id, not by position,
 * and the errors found later (the connector's own settings, `use:`) name them so too.
 */
function instanceLabel(raw: unknown): PathLabel {
  const connectors = (raw as { connectors?: unknown } | null)?.connectors;
  return (path) => {
    if (path.length !== 2 || path[0] !== 'connectors' || typeof path[1] !== 'number' || !Array.isArray(connectors)) return undefined;
    const id = (connectors[path[1]] as { id?: unknown } | null)?.id;
    return typeof id === 'string' && id !== '' ? id : undefined;
  };
}

export function loadConfig(file: string): PonteConfig {
  return parseConfig(readConfigText(file), file);
}
