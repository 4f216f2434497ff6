// One small interface between a declarative connector and where its rows come from. The
// connector (mapping, dedup keys, templates, shapes' semantics) is the same for every kind; a
// source only knows how to read rows for a window or after a cursor and to check it can.
import type { Logger } from 'pino';
import type { Batch, PollContext } from '../contract.js';
import type { DeclarativeSpec } from '../declarative/schema.js';
import type { CompiledTemplate } from '../../messages/template.js';
import type { SourceConfig } from './schema.js';

/** Names errors use: the connector, its connector.yaml and what it reads (query.sql, the CSV path …). */
export interface SourceWhere { connector: string; yamlFile: string; sqlFile: string }

export interface SourceInputs {
  spec: DeclarativeSpec;
  /** connector.yaml: relative paths in a source are relative to its folder. */
  file: string;
  /** query.sql's text, for SQL sources. */
  sql: string;
  where: SourceWhere;
  /** The dedup key template (its variables are columns the rows must have). */
  key: CompiledTemplate;
}

export interface RowSource {
  /** `ponte connector check` and the harness's "config valid": reachable, every mapped column present. */
  check(source: SourceConfig, log: Pick<Logger, 'info'>): Promise<void>;
  /** One run of the connector's shape: window batches, or batches carrying the new cursor. */
  poll(source: SourceConfig, ctx: PollContext<unknown, unknown>): AsyncIterable<Batch<unknown>>;
}
