// From connectors/<name>/connector.yaml (+ its .sql) to a connector definition: the YAML is checked
// with errors naming the file and the field, the query is wrapped with the shape's conditions.
import { readFileSync, existsSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { defineConnector, type ConnectorDefinition, type EventTypeSpec } from '../contract.js';
import { ConfigError, zodProblems } from '../../config/errors.js';
import { readYamlFile } from '../../config/yaml-file.js';
import { declarativeInstanceSchema, declarativeSpecSchema, type DeclarativeSpec } from './schema.js';
import { compileTemplate, TemplateError } from '../../messages/template.js';
import { markdownTemplateProblem, templateProblem } from '../../messages/template-check.js';
import { sourceKind, type SourceConfig, type SourceKind } from '../sources/schema.js';
import { rowSource } from '../sources/index.js';
import { PONTE_ROOT } from '../../util/ponte-root.js';

export { wrappedQuery, windowQuery } from '../sources/sql.js';

export const DECLARATIVE_FILE = 'connector.yaml';

/** The connector.yaml a `use:` value points at, if it names a declarative connector. */
export function declarativeFile(use: string, cwd = process.cwd()): string | null {
  // The installation's own connectors/ first; then those shipped with Ponte, so that `use:
  // scadenze-tari` works when Ponte runs from another folder (a config in /etc/ponte).
  const shipped = /^[a-z0-9][a-z0-9-]*$/.test(use) ? [join(PONTE_CONNECTORS, use, DECLARATIVE_FILE)] : [];
  for (const candidate of [join(cwd, 'connectors', use, DECLARATIVE_FILE), resolve(cwd, use, DECLARATIVE_FILE), resolve(cwd, use), ...shipped]) {
    if (candidate.endsWith(DECLARATIVE_FILE) && existsSync(candidate)) return candidate;
  }
  return null;
}

/** connectors/ of the Ponte install (the sources' folder, also when running from dist/). */
export const PONTE_CONNECTORS = join(PONTE_ROOT, 'connectors');

/** The file beside connector.yaml holding a database source's SELECT. */
export const queryFile = (spec: DeclarativeSpec) => spec.query ?? 'query.sql';

/** The kind of source connector.yaml reads: a database unless its `source:` says otherwise. */
export const kindOf = (spec: DeclarativeSpec): SourceKind => (spec.source ? sourceKind(spec.source) ?? 'sql' : 'sql');

export function readDeclarative(file: string): { spec: DeclarativeSpec; sql: string } {
  const parsed = declarativeSpecSchema.safeParse(readYamlFile(file));
  if (!parsed.success) throw new ConfigError(file, zodProblems(parsed.error));
  const spec = parsed.data;
  // A file or HTTP source has no query: its rows are what it holds.
  if (kindOf(spec) !== 'sql') {
    const problems = templateProblems(spec);
    if (problems.length) throw new ConfigError(file, problems);
    return { spec, sql: '' };
  }
  const sqlFile = join(dirname(file), queryFile(spec));
  if (!existsSync(sqlFile)) throw new ConfigError(file, [`query: ${queryFile(spec)} does not exist next to ${DECLARATIVE_FILE}`]);
  // Comments go (they may mention anything); a trailing semicolon too, as the query becomes a subquery.
  const sql = readFileSync(sqlFile, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/--[^\n]*/g, '').trim().replace(/;\s*$/, '');
  const problems: string[] = [];
  if (sql.includes('?')) problems.push(`query: ${queryFile(spec)} must not contain "?" (knex would read it as a parameter)`);
  if (/\border\s+by\b/i.test(sql)) problems.push(`query: ${queryFile(spec)} must not ORDER BY (Ponte orders and pages the rows itself)`);
  problems.push(...templateProblems(spec));
  if (problems.length) throw new ConfigError(file, problems);
  return { spec, sql };
}

/**
 * The templates against what an event of this connector carries (its `data` and `dates` names),
 * and the dedup key's syntax: a mistake here would otherwise be the same row error on every row.
 */
function templateProblems(spec: DeclarativeSpec): string[] {
  const names = new Set(dataNames(spec));
  const problems: string[] = [];
  for (const [lang, template] of Object.entries(spec.templates)) {
    for (const part of ['subject', 'markdown'] as const) {
      const problem = templateProblem(template[part], names) ?? (part === 'markdown' ? markdownTemplateProblem(template[part]) : null);
      if (problem) problems.push(`templates.${lang}.${part}: ${problem}`);
    }
  }
  try {
    compileTemplate(spec.event.key);
  } catch (e) {
    if (!(e instanceof TemplateError)) throw e;
    problems.push(`event.key: ${e.message}`);
  }
  return problems;
}

/** The data of every event: its `data` names (trimmed text) and its `dates` names (ISO instants). */
function dataNames(spec: DeclarativeSpec): string[] {
  return [...Object.keys(spec.event.data), ...Object.keys(spec.event.dates)];
}

/** A path as an operator would type it: relative to the working folder when inside it. */
function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

/** The instance's source (config.source) or connector.yaml's, which must be of the kind the connector was written for. */
function sourceOf(spec: DeclarativeSpec, instance: { source?: SourceConfig | undefined }, file: string): SourceConfig {
  const source = instance.source ?? spec.source;
  if (!source) throw new Error(`${file}: no source: set source: in ${DECLARATIVE_FILE} or config.source for the instance in config/ponte.yaml`);
  const kind = sourceKind(source) ?? 'sql';
  if (kind !== kindOf(spec)) throw new Error(`${file}: the instance's config.source is a ${kind} source, but ${DECLARATIVE_FILE} reads a ${kindOf(spec)} source (its mapping is written for that)`);
  // connector.yaml's own since is refused when read; an instance's would be silently ignored.
  if (spec.shape !== 'incremental' && 'since' in source && source.since) throw new Error(`${file}: the instance's config.source has since, which is for shape incremental; ${spec.name} is a window connector and reads the whole listing`);
  return source;
}

/** `overrides` lets the acceptance harness force small pages (batch boundaries) and a short lag. */
export function declarativeConnector(file: string, overrides: { pageSize?: number; lagSeconds?: number; startFrom?: 'now' | 'beginning' } = {}): ConnectorDefinition {
  const read = readDeclarative(file);
  const sql = read.sql;
  const spec: DeclarativeSpec = { ...read.spec, ...(overrides.pageSize ? { pageSize: overrides.pageSize } : {}), ...(read.spec.cursor ? { cursor: { ...read.spec.cursor, ...(overrides.lagSeconds !== undefined ? { lagSeconds: overrides.lagSeconds } : {}), ...(overrides.startFrom ? { startFrom: overrides.startFrom } : {}) } } : {}) };
  const eventTypes: Record<string, EventTypeSpec> = { [spec.event.type]: { description: spec.description, personalFields: spec.personalFields, templates: spec.templates, dataFields: dataNames(spec) } };
  const kind = kindOf(spec);
  const what = kind === 'sql' ? shown(join(dirname(file), queryFile(spec))) : spec.source && 'path' in spec.source ? spec.source.path : `its ${kind} source`;
  const where = { connector: spec.name, yamlFile: shown(file), sqlFile: what };
  const key = compileTemplate(spec.event.key); // readDeclarative has refused a key that does not compile
  // Row errors name the back-office column a CED person sees in the table, as the built-ins do.
  const dateColumn = (rule: DeclarativeSpec['event']['notBefore']) => (rule ? spec.event.dates[rule.date] ?? null : null);
  const columnsOf = () => ({
    fiscalCode: spec.event.recipient.fiscalCode, phone: spec.event.recipient.phone ?? null, language: spec.event.recipient.language ?? null,
    notBefore: dateColumn(spec.event.notBefore), expiresAt: dateColumn(spec.event.expiresAt),
  });
  const rows = rowSource(kind, { spec, file, sql, where, key });
  type Config = { source?: SourceConfig | undefined };
  return defineConnector({
    name: spec.name,
    description: spec.description,
    shape: spec.shape,
    configSchema: declarativeInstanceSchema,
    eventTypes,
    columnsOf,
    check: (config: Config, log) => rows.check(sourceOf(spec, config, file), log),
    poll: (ctx) => rows.poll(sourceOf(spec, ctx.config, file), ctx as never) as AsyncIterable<never>,
  }) as unknown as ConnectorDefinition;
}
