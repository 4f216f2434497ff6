// connectors/<name>/connector.yaml: a SQL connector described as data. The query lives beside it
// in a .sql file; everything else — shape, key, recipient, dates, templates — is here.
import { z } from 'zod';
import { sourceKind, sourceSchema } from '../sources/schema.js';
import { column, pageSizeField, timeZoneField } from '../sql/config-fields.js';

const name = z.string().regex(/^[a-z0-9][a-z0-9-]{0,60}$/, 'lower-case letters, digits and -');
const template = z.strictObject({ subject: z.string().min(1), markdown: z.string().min(1) });

/** When an event goes out or stops being worth sending, relative to one of its dates. */
const instantRule = z.strictObject({
  /** A name under `dates`. */
  date: z.string().min(1),
  offsetHours: z.number().default(0),
});

/** One condition of event.only: a number compared (Italian "-12,50" or "1.234,50" read too), or a value among some. */
export const onlyCondition = z.strictObject({
  column,
  below: z.number().optional(),
  atMost: z.number().optional(),
  above: z.number().optional(),
  atLeast: z.number().optional(),
  in: z.array(z.string()).min(1).optional(),
}).refine((c) => ['below', 'atMost', 'above', 'atLeast', 'in'].some((k) => (c as Record<string, unknown>)[k] !== undefined), {
  message: 'give at least one of below, atMost, above, atLeast (numbers) or in (values)',
});
export type OnlyCondition = z.infer<typeof onlyCondition>;

export const declarativeSchema = z.strictObject({
  name,
  description: z.string().min(1),
  shape: z.enum(['window', 'incremental']),
  /** Default source; an instance may override it in config/ponte.yaml. A database when `kind` is absent. */
  source: sourceSchema.optional(),
  /** Database sources: the SELECT, in a file next to connector.yaml (query.sql when absent). */
  query: z.string().regex(/\.sql$/, 'a .sql file next to connector.yaml').optional(),
  /** The row's primary key column (unique, never null). */
  key: column.default('id'),
  /** Back-office local times are in this zone. */
  timeZone: timeZoneField,
  pageSize: pageSizeField,
  /** shape: window — rows whose `column` falls in [now - behindHours, now + aheadHours]. */
  window: z.strictObject({
    column,
    aheadHours: z.number().positive(),
    behindHours: z.number().min(0).default(0),
  }).optional(),
  /** shape: incremental — rows changed since the last run, by a (change column, key) cursor. */
  cursor: z.strictObject({
    /** The change column (database sources). A file source's position cursor reads none. */
    column: column.optional(),
    /** The first run: now (default) only records where to start; beginning notifies every existing row. */
    startFrom: z.enum(['now', 'beginning']).default('now'),
    /**
     * timestamp (default for databases): a change time with the key as tiebreak; rowversion: SQL
     * Server only; position (file sources, their only mode): the file and line last read.
     */
    mode: z.enum(['timestamp', 'rowversion', 'position']).optional(),
    /** Seconds below the database clock that are not read yet: rows committed late are not skipped. */
    lagSeconds: z.number().min(0).default(5),
  }).optional(),
  event: z.strictObject({
    type: z.string().min(1),
    /** The permanent dedup key, a template over the row's columns, e.g. "pratica:{{ id }}:{{ stato }}". */
    key: z.string().min(1),
    recipient: z.strictObject({ fiscalCode: column, phone: column.optional(), language: column.optional() }),
    /** Template data: name → column. */
    data: z.record(z.string(), column).default({}),
    /** Local date-time columns: name → column; in the data as ISO instants. */
    dates: z.record(z.string(), column).default({}),
    notBefore: instantRule.optional(),
    expiresAt: instantRule.optional(),
    /** Rows whose column holds one of these values get nothing (their pending sends are cancelled). */
    cancelWhen: z.strictObject({ column, in: z.array(z.string()).min(1) }).optional(),
    /**
     * Only rows meeting every condition get an event; the others are as cancelWhen (their pending
     * sends are cancelled: a balance topped up before its reminder went out). A file or an HTTP
     * listing has no WHERE; a database query can use both.
     */
    only: z.array(onlyCondition).min(1).optional(),
  }),
  /** Data names holding personal data: never allowed in an IO subject. */
  personalFields: z.array(z.string()).default([]),
  templates: z.object({ it: template }).catchall(template),
}).superRefine((c, ctx) => {
  if (c.shape === 'window' && !c.window) ctx.addIssue({ code: 'custom', path: ['window'], message: 'shape window needs window: { column, aheadHours }' });
  const kind = sourceKind(c.source);
  // A file is read by position; a database and an HTTP listing by a change column.
  const fileSource = kind === 'csv';
  if (c.shape === 'incremental' && !c.cursor) ctx.addIssue({ code: 'custom', path: ['cursor'], message: fileSource ? 'shape incremental needs cursor: { mode: position }' : 'shape incremental needs cursor: { column }' });
  if (c.cursor && fileSource) {
    if (c.cursor.mode && c.cursor.mode !== 'position') ctx.addIssue({ code: 'custom', path: ['cursor', 'mode'], message: `a ${kind} source is read by position (the file and line last read): mode: position` });
    if (c.cursor.column) ctx.addIssue({ code: 'custom', path: ['cursor', 'column'], message: `a ${kind} source's cursor is the file and line last read, not a column: remove column (use window: for a file that is rewritten whole)` });
  }
  if (c.cursor && !fileSource) {
    if (c.cursor.mode === 'position') ctx.addIssue({ code: 'custom', path: ['cursor', 'mode'], message: 'mode position is for file sources (source: { kind: csv })' });
    if (c.cursor.mode === 'rowversion' && kind === 'http') ctx.addIssue({ code: 'custom', path: ['cursor', 'mode'], message: 'mode rowversion is for SQL Server: an HTTP listing has a change column (mode timestamp)' });
    if (!c.cursor.column) ctx.addIssue({ code: 'custom', path: ['cursor', 'column'], message: `${kind === 'http' ? 'an HTTP' : 'a database'} cursor needs column: the change column (§2 of docs/connectors.md)` });
  }
  // since asks the API for the rows after the cursor: a window connector has no cursor to send.
  if (kind === 'http' && c.shape !== 'incremental' && c.source && 'since' in c.source && c.source.since) ctx.addIssue({ code: 'custom', path: ['source', 'since'], message: 'since is for shape incremental (it sends the cursor\'s change time); a window connector reads the whole listing' });
  if (kind !== 'sql' && kind !== null && c.query) ctx.addIssue({ code: 'custom', path: ['query'], message: `a ${kind} source has no query: remove query` });
  for (const rule of ['notBefore', 'expiresAt'] as const) {
    const r = c.event[rule];
    if (r && !c.event.dates[r.date]) ctx.addIssue({ code: 'custom', path: ['event', rule, 'date'], message: `"${r.date}" is not one of event.dates (${Object.keys(c.event.dates).join(', ') || 'none'})` });
  }
});

/** The spec with the cursor mode resolved from the source kind (position for files). */
export const declarativeSpecSchema = declarativeSchema.transform((c) => {
  if (!c.cursor) return c;
  const fileSource = c.source !== undefined && sourceKind(c.source) === 'csv';
  return { ...c, cursor: { ...c.cursor, mode: c.cursor.mode ?? (fileSource ? 'position' as const : 'timestamp' as const) } };
});

export type DeclarativeSpec = z.output<typeof declarativeSpecSchema>;

/** What an instance may set in config/ponte.yaml under `config:`. */
export const declarativeInstanceSchema = z.strictObject({
  source: sourceSchema.optional(),
});
