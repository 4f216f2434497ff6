// The SQL source: query.sql wrapped with the shape's conditions and read in keyset pages.
import type { Knex } from 'knex';
import type { DeclarativeSpec } from '../declarative/schema.js';
import type { RowSource, SourceInputs } from './source.js';
import type { SourceConfig } from './schema.js';
import { dateAlias, rowMapper } from '../declarative/map-row.js';
import { openSqlSource, readFrom, localBound, selectLocalDateTime, QUERY_REFUSED, type SqlSourceConfig } from '../sql/source.js';
import { pollWindow } from '../sql/window-poll.js';
import { pollChanges } from '../sql/changes-poll.js';
import { instantToWallTime } from '../../util/local-time.js';
import { maskText } from '../../util/mask.js';
import { checkColumns } from '../declarative/columns.js';
import { QueryTimeoutError } from '../../store/query-timeout.js';

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

/**
 * A query the back-office database refused (a wrong column in query.sql, a type mismatch) as one
 * line naming the connector and the file, with the database's message (source.ts has removed the
 * generated SQL) masked: databases quote values, and values can be fiscal codes. Other errors
 * (connection, abort, a missing column) already say what they are and pass unchanged.
 */
function explained(e: unknown, connector: string, sqlFile: string): unknown {
  // A back-office that did not answer (readFrom has said so in one form): named, not "refused".
  if (e instanceof QueryTimeoutError || (e instanceof Error && /^the back-office database did not answer/.test(e.message))) return new Error(`${connector}: ${e.message}`, { cause: e });
  if (!(e instanceof Error) || !(e as { [QUERY_REFUSED]?: boolean })[QUERY_REFUSED]) return e;
  return new Error(`${connector}: the back-office database refused the query of ${sqlFile}: ${maskText(e.message)}`, { cause: e });
}

export function sqlRows({ spec, sql, where, key }: SourceInputs): RowSource {
  const asSql = (source: SourceConfig) => source as SqlSourceConfig;
  /** A run: the columns first (a missing one fails it before any row is read), then the shape's poll. */
  async function* run<T>(source: SourceConfig, poll: (knex: Knex) => AsyncIterable<T>): AsyncGenerator<T> {
    try {
      yield* readFrom(asSql(source), async function* (knex) {
        await checkColumns(knex, spec, sql, where, key);
        yield* poll(knex);
      });
    } catch (e) {
      throw explained(e, where.connector, where.sqlFile);
    }
  }
  return {
    async check(source, log) {
      const knex = openSqlSource(asSql(source));
      try {
        await checkColumns(knex, spec, sql, where, key);
        await wrappedQuery(knex, spec, sql).whereRaw('1 = 0');
        log.info({ connector: spec.name }, 'query and columns readable');
      } catch (e) {
        throw explained(e, where.connector, where.sqlFile);
      } finally {
        await knex.destroy();
      }
    },
    poll(source, ctx) {
      if (spec.shape === 'incremental') {
        return run(source, (knex) => pollChanges({
          knex,
          source: () => wrappedQuery(knex, spec, sql),
          tsColumn: `q.${spec.cursor!.column}`,
          idColumn: `q.${spec.key}`,
          timeZone: spec.timeZone,
          lagSeconds: spec.cursor!.lagSeconds,
          mode: spec.cursor!.mode as 'timestamp' | 'rowversion',
          startFrom: spec.cursor!.startFrom,
          pageSize: spec.pageSize,
          verdict: rowMapper(spec, { entityOnVerdict: true }),
          describe: `${spec.name} (${spec.query})`,
        }, ctx as never));
      }
      return run(source, (knex) => pollWindow({
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
  };
}
