// From connectors/<name>/connector.yaml (+ its .sql) to a connector definition: the YAML is checked
// with errors naming the file and the field, the query is wrapped with the shape's conditions.
import { readFileSync, existsSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import type { Knex } from 'knex';
import { defineConnector, type ConnectorDefinition, type EventTypeSpec } from '../contract.js';
import { ConfigError, zodProblems } from '../../config/errors.js';
import { readYamlFile } from '../../config/yaml-file.js';
import { declarativeInstanceSchema, declarativeSchema, type DeclarativeSpec } from './schema.js';
import { dateAlias, rowMapper } from './map-row.js';
import { openSqlSource, readFrom, localBound, selectLocalDateTime, QUERY_REFUSED, type SqlSourceConfig } from '../sql/source.js';
import { pollWindow } from '../sql/window-poll.js';
import { pollChanges, type ChangeCursor } from '../sql/changes-poll.js';
import { instantToWallTime } from '../../util/local-time.js';
import { maskText } from '../../util/mask.js';
import { compileTemplate, TemplateError } from '../../messages/template.js';
import { templateProblem } from '../../messages/template-check.js';
import { checkColumns } from './columns.js';

export const DECLARATIVE_FILE = 'connector.yaml';

/** The connector.yaml a `use:` value points at, if it names a declarative connector. */
export function declarativeFile(use: string, cwd = process.cwd()): string | null {
  for (const candidate of [join(cwd, 'connectors', use, DECLARATIVE_FILE), resolve(cwd, use, DECLARATIVE_FILE), resolve(cwd, use)]) {
    if (candidate.endsWith(DECLARATIVE_FILE) && existsSync(candidate)) return candidate;
  }
  return null;
}

export function readDeclarative(file: string): { spec: DeclarativeSpec; sql: string } {
  const parsed = declarativeSchema.safeParse(readYamlFile(file));
  if (!parsed.success) throw new ConfigError(file, zodProblems(parsed.error));
  const spec = parsed.data;
  const sqlFile = join(dirname(file), spec.query);
  if (!existsSync(sqlFile)) throw new ConfigError(file, [`query: ${spec.query} does not exist next to ${DECLARATIVE_FILE}`]);
  // Comments go (they may mention anything); a trailing semicolon too, as the query becomes a subquery.
  const sql = readFileSync(sqlFile, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/--[^\n]*/g, '').trim().replace(/;\s*$/, '');
  const problems: string[] = [];
  if (sql.includes('?')) problems.push(`query: ${spec.query} must not contain "?" (knex would read it as a parameter)`);
  if (/\border\s+by\b/i.test(sql)) problems.push(`query: ${spec.query} must not ORDER BY (Ponte orders and pages the rows itself)`);
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
      const problem = templateProblem(template[part], names);
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

/**
 * A query the back-office database refused (a wrong column in query.sql, a type mismatch) as one
 * line naming the connector and the file, with the database's message (source.ts has removed the
 * generated SQL) masked: databases quote values, and values can be fiscal codes. Other errors
 * (connection, abort, a missing column) already say what they are and pass unchanged.
 */
function explained(e: unknown, connector: string, sqlFile: string): unknown {
  if (!(e instanceof Error) || !(e as { [QUERY_REFUSED]?: boolean })[QUERY_REFUSED]) return e;
  return new Error(`${connector}: the back-office database refused the query of ${sqlFile}: ${maskText(e.message)}`, { cause: e });
}

/** The user's SELECT as a subquery, with the date columns also selected as text. */
export function wrappedQuery(knex: Knex, spec: DeclarativeSpec, sql: string): Knex.QueryBuilder {
  const columns: Array<Knex.Raw | string> = [knex.raw('q.*')];
  for (const [name, column] of Object.entries(spec.event.dates)) columns.push(selectLocalDateTime(knex, `q.${column}`, dateAlias(name)));
  if (spec.key !== 'id') columns.push(knex.raw('?? as ??', [`q.${spec.key}`, 'id']));
  return knex.select(columns).from(knex.raw(`(${sql}) q`));
}

export function windowQuery(knex: Knex, spec: DeclarativeSpec, sql: string, now: Date): Knex.QueryBuilder {
  const w = spec.window!;
  const from = instantToWallTime(new Date(now.getTime() - w.behindHours * 3_600_000), spec.timeZone);
  const to = instantToWallTime(new Date(now.getTime() + w.aheadHours * 3_600_000), spec.timeZone);
  // Rows without a date are read too, so that they are reported (a row error per run), not ignored.
  return wrappedQuery(knex, spec, sql).where((q) => q
    .where((b) => b.where(`q.${w.column}`, '>=', localBound(knex, from, 'datetime')).andWhere(`q.${w.column}`, '<=', localBound(knex, to, 'datetime')))
    .orWhereNull(`q.${w.column}`));
}

function sourceOf(spec: DeclarativeSpec, instance: { source?: SqlSourceConfig | undefined }, file: string): SqlSourceConfig {
  const source = instance.source ?? spec.source;
  if (!source) throw new Error(`${file}: no source: set source: in ${DECLARATIVE_FILE} or config.source for the instance in config/ponte.yaml`);
  return source;
}

/** `overrides` lets the acceptance harness force small pages (batch boundaries) and a short lag. */
export function declarativeConnector(file: string, overrides: { pageSize?: number; lagSeconds?: number; startFrom?: 'now' | 'beginning' } = {}): ConnectorDefinition {
  const read = readDeclarative(file);
  const sql = read.sql;
  const spec: DeclarativeSpec = { ...read.spec, ...(overrides.pageSize ? { pageSize: overrides.pageSize } : {}), ...(read.spec.cursor ? { cursor: { ...read.spec.cursor, ...(overrides.lagSeconds !== undefined ? { lagSeconds: overrides.lagSeconds } : {}), ...(overrides.startFrom ? { startFrom: overrides.startFrom } : {}) } } : {}) };
  const eventTypes: Record<string, EventTypeSpec> = { [spec.event.type]: { description: spec.description, personalFields: spec.personalFields, templates: spec.templates, dataFields: dataNames(spec) } };
  const where = { connector: spec.name, yamlFile: shown(file), sqlFile: shown(join(dirname(file), spec.query)) };
  const key = compileTemplate(spec.event.key); // readDeclarative has refused a key that does not compile
  // Row errors name the back-office column a CED person sees in the table, as the built-ins do.
  const dateColumn = (rule: DeclarativeSpec['event']['notBefore']) => (rule ? spec.event.dates[rule.date] ?? null : null);
  const columnsOf = () => ({
    fiscalCode: spec.event.recipient.fiscalCode, phone: spec.event.recipient.phone ?? null, language: spec.event.recipient.language ?? null,
    notBefore: dateColumn(spec.event.notBefore), expiresAt: dateColumn(spec.event.expiresAt),
  });
  const check = async (config: { source?: SqlSourceConfig | undefined }, log: { info: (o: object, m: string) => void }) => {
    const knex = openSqlSource(sourceOf(spec, config, file));
    try {
      await checkColumns(knex, spec, sql, where, key);
      await wrappedQuery(knex, spec, sql).whereRaw('1 = 0');
      log.info({ connector: spec.name }, 'query and columns readable');
    } catch (e) {
      throw explained(e, where.connector, where.sqlFile);
    } finally {
      await knex.destroy();
    }
  };
  /** A run: the columns first (a missing one fails it before any row is read), then the shape's poll. */
  async function* run<T>(config: { source?: SqlSourceConfig | undefined }, poll: (knex: Knex) => AsyncIterable<T>): AsyncGenerator<T> {
    try {
      yield* readFrom(sourceOf(spec, config, file), async function* (knex) {
        await checkColumns(knex, spec, sql, where, key);
        yield* poll(knex);
      });
    } catch (e) {
      throw explained(e, where.connector, where.sqlFile);
    }
  }
  if (spec.shape === 'incremental') {
    return defineConnector<typeof declarativeInstanceSchema, ChangeCursor>({
      name: spec.name,
      description: spec.description,
      shape: 'incremental',
      configSchema: declarativeInstanceSchema,
      eventTypes,
      columnsOf,
      check,
      async *poll(ctx) {
        yield* run(ctx.config, (knex) => pollChanges({
            knex,
            source: () => wrappedQuery(knex, spec, sql),
            tsColumn: `q.${spec.cursor!.column}`,
            idColumn: `q.${spec.key}`,
            timeZone: spec.timeZone,
            lagSeconds: spec.cursor!.lagSeconds,
            mode: spec.cursor!.mode,
            startFrom: spec.cursor!.startFrom,
            pageSize: spec.pageSize,
            verdict: rowMapper(spec, { entityOnVerdict: true }),
            describe: `${spec.name} (${spec.query})`,
          }, ctx));
      },
    }) as unknown as ConnectorDefinition;
  }
  return defineConnector({
    name: spec.name,
    description: spec.description,
    shape: 'window',
    configSchema: declarativeInstanceSchema,
    eventTypes,
    columnsOf,
    check,
    async *poll(ctx) {
      yield* run(ctx.config, (knex) => pollWindow({
          knex,
          entityPrefix: spec.name,
          idColumn: `q.${spec.key}`,
          pageSize: spec.pageSize,
          windowQuery: () => windowQuery(knex, spec, sql, ctx.now),
          byIds: (ids) => wrappedQuery(knex, spec, sql).whereIn(`q.${spec.key}`, ids),
          verdict: rowMapper(spec),
          goneReason: `the row is no longer in the back-office`,
        }, ctx as never));
    },
  });
}
