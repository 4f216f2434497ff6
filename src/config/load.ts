// Reading config/ponte.yaml (or the file named by --config / PONTE_CONFIG): YAML → zod → typed.
import { readFileSync } from 'node:fs';
import { parse, YAMLParseError } from 'yaml';
import { configSchema, type PonteConfig } from './schema.js';
import { ConfigError, zodProblems } from './errors.js';

export const DEFAULT_CONFIG_FILE = 'config/ponte.yaml';

export function configFile(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  return explicit ?? env.PONTE_CONFIG ?? DEFAULT_CONFIG_FILE;
}

export function parseConfig(text: string, file: string): PonteConfig {
  let raw: unknown;
  try {
    raw = parse(text) ?? {};
  } catch (e) {
    const msg = e instanceof YAMLParseError ? `${e.message}` : String(e);
    throw new ConfigError(file, [`not valid YAML: ${msg}`]);
  }
  const result = configSchema.safeParse(raw);
  if (!result.success) throw new ConfigError(file, zodProblems(result.error));
  return result.data;
}

export function loadConfig(file: string): PonteConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(file, [`cannot read the file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`]);
  }
  return parseConfig(text, file);
}
