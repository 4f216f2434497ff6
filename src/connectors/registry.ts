// From `use:` in the config to a connector definition, and its instance config validated by the
// connector's own schema (errors name the file, the instance and the field).
import { pathToFileURL } from 'node:url';
import { join, resolve } from 'node:path';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ConnectorDefinition } from './contract.js';
import type { ConnectorInstanceConfig, PonteConfig } from '../config/schema.js';
import { ConfigError, zodProblems } from '../config/errors.js';
import { PONTE_ROOT } from '../util/ponte-root.js';
import { DECLARATIVE_FILE, PONTE_CONNECTORS, declarativeConnector, declarativeFile } from './declarative/load.js';
import { routeTemplateProblems } from './route-templates.js';

type Loader = () => Promise<{ default: ConnectorDefinition }>;

// Built-ins are imported statically so they load the same from sources (tests) and from dist/.
const BUILTINS: Record<string, Loader> = {
  appointments: () => import('../../connectors/appointments/index.js') as Promise<{ default: ConnectorDefinition }>,
  'ztl-permits': () => import('../../connectors/ztl-permits/index.js') as Promise<{ default: ConnectorDefinition }>,
};

export interface ConnectorInstance {
  id: string;
  definition: ConnectorDefinition;
  /** Parsed by definition.configSchema. */
  config: unknown;
  settings: ConnectorInstanceConfig;
}

/**
 * `use:` is a built-in connector (appointments, ztl-permits), a declarative one (connectors/<name>/
 * connector.yaml, or a folder path holding one), or a module path exporting defineConnector().
 */
export async function loadDefinition(use: string): Promise<ConnectorDefinition> {
  const builtin = BUILTINS[use];
  if (!builtin) {
    const yamlFile = declarativeFile(use);
    if (yamlFile) return declarativeConnector(yamlFile);
  }
  // A TypeScript connector in connectors/<name>/ loads from beside this module: the sources under
  // tsx/vitest, dist/ once built (`npm run build` after adding one).
  const asPath = resolve(use);
  const byName = /^[a-z0-9][a-z0-9-]*$/.test(use);
  const url = byName ? new URL(`../../connectors/${use}/index.js`, import.meta.url).href
    : pathToFileURL(existsSync(asPath) && statSync(asPath).isDirectory() ? join(asPath, 'index.js') : asPath).href;
  // Node's "Cannot find module '/…/dist/connectors/x/index.js'" says neither what `use:` meant
  // nor that a typo, or running from another folder, is the likely cause.
  if (!builtin && byName && !existsSync(fileURLToPath(url)) && !existsSync(fileURLToPath(url).replace(/\.js$/, '.ts'))) throw new Error(unknownConnector(use));
  const mod = builtin ? await builtin() : ((await import(url)) as { default?: ConnectorDefinition });
  if (!mod.default || typeof mod.default.poll !== 'function') throw new Error(`connector "${use}" does not export a connector made with defineConnector()`);
  return mod.default;
}

/** Where a connector named by `use:` was looked for, and the ones that do exist. */
function unknownConnector(use: string, cwd = process.cwd()): string {
  const tsDir = fileURLToPath(new URL('../../connectors/', import.meta.url)); // dist/connectors/ once built
  const source = join(PONTE_ROOT, 'connectors', use, 'index.ts');
  const unbuilt = existsSync(source) ? ` (${source} exists but is not built: run \`npm run build\`)` : '';
  return `no connector named "${use}" (a typo, or ponte run from another folder?): looked for connectors/${use}/${DECLARATIVE_FILE} in ${cwd} and ${PONTE_ROOT} `
    + `and connectors/${use}/index.ts in ${PONTE_ROOT}${unbuilt}. Connectors found: ${knownConnectors(cwd, tsDir).join(', ') || 'none'}`;
}

/** Built-ins, declarative connectors under ./connectors and TypeScript ones beside Ponte. */
function knownConnectors(cwd: string, tsDir: string): string[] {
  const found = new Set(Object.keys(BUILTINS));
  const dirs = (root: string) => { try { return readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name); } catch { return []; } };
  for (const root of [join(cwd, 'connectors'), PONTE_CONNECTORS]) for (const name of dirs(root)) if (existsSync(join(root, name, DECLARATIVE_FILE))) found.add(name);
  for (const name of dirs(tsDir)) if (existsSync(join(tsDir, name, 'index.js')) || existsSync(join(tsDir, name, 'index.ts'))) found.add(name);
  return [...found].sort();
}

export async function resolveInstances(config: PonteConfig, file: string, only?: string[]): Promise<ConnectorInstance[]> {
  const problems: string[] = [];
  const out: ConnectorInstance[] = [];
  for (const [i, settings] of config.connectors.entries()) {
    if (only && !only.includes(settings.id)) continue;
    let definition: ConnectorDefinition;
    try {
      definition = await loadDefinition(settings.use);
    } catch (e) {
      if (e instanceof ConfigError) problems.push(...e.message.split('\n').slice(1).map((l) => `connectors[${i}] (${settings.id}).use → ${e.file}: ${l.replace(/^\s*- /, '')}`));
      else problems.push(`connectors[${i}] (${settings.id}).use: ${(e as Error).message}`);
      continue;
    }
    const parsed = definition.configSchema.safeParse(settings.config);
    if (!parsed.success) {
      problems.push(...zodProblems(parsed.error, [`connectors[${i}] (${settings.id})`, 'config']));
      continue;
    }
    const templates = routeTemplateProblems(settings, definition, `connectors[${i}] (${settings.id})`);
    if (templates.length) {
      problems.push(...templates);
      continue;
    }
    out.push({ id: settings.id, definition, config: parsed.data, settings });
  }
  if (problems.length) throw new ConfigError(file, problems);
  if (only) {
    const missing = only.filter((id) => !out.some((c) => c.id === id));
    if (missing.length) throw new ConfigError(file, missing.map((id) => `no connector with id "${id}" (known: ${config.connectors.map((c) => c.id).join(', ') || 'none'})`));
  }
  return out;
}
