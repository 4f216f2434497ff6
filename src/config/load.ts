// Reading config/ponte.yaml (or the file named by --config / PONTE_CONFIG): YAML → zod → typed.
import { configSchema, type PonteConfig } from './schema.js';
import { ConfigError, zodProblems } from './errors.js';
import { parseYamlText, readConfigText } from './yaml-file.js';

export const DEFAULT_CONFIG_FILE = 'config/ponte.yaml';

export function configFile(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  return explicit ?? env.PONTE_CONFIG ?? DEFAULT_CONFIG_FILE;
}

export function parseConfig(text: string, file: string): PonteConfig {
  const result = configSchema.safeParse(parseYamlText(text, file));
  if (!result.success) throw new ConfigError(file, zodProblems(result.error));
  return result.data;
}

export function loadConfig(file: string): PonteConfig {
  return parseConfig(readConfigText(file), file);
}
