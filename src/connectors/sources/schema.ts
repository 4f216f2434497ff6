// Where a declarative connector's rows come from: a SQL database (`client:`), a CSV file
// (`kind: csv`) or an HTTP JSON endpoint (`kind: http`). The form is picked by `kind` first, so
// a mistake is reported against that form's fields, not as "matches none of three shapes".
import { z } from 'zod';
import { sqlSourceSchema, type SqlSourceConfig } from '../sql/source.js';
import { csvSourceSchema, type CsvSourceConfig } from './csv/schema.js';
import { httpSourceSchema, type HttpSourceConfig } from './http/schema.js';

export type SourceConfig = SqlSourceConfig | CsvSourceConfig | HttpSourceConfig;
export type SourceKind = 'sql' | 'csv' | 'http';

/** A database source has no `kind`: the connectors written before files and HTTP keep working. */
export function sourceKind(source: unknown): SourceKind | null {
  const kind = (source as { kind?: unknown } | null | undefined)?.kind;
  if (kind === undefined) return 'sql';
  return kind === 'csv' || kind === 'http' ? kind : null;
}

export const sourceSchema = z.custom<SourceConfig>().transform((value, ctx): SourceConfig => {
  const kind = sourceKind(value);
  if (!kind) {
    ctx.addIssue({ code: 'custom', path: ['kind'], message: 'csv or http; or leave kind out and set client: for a database' });
    return z.NEVER;
  }
  const parsed = (kind === 'csv' ? csvSourceSchema : kind === 'http' ? httpSourceSchema : sqlSourceSchema).safeParse(value);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) ctx.addIssue(issue as never);
  return z.NEVER;
});
