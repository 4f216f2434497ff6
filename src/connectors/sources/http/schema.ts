// `source: { kind: http, … }` in connector.yaml: a back-office REST endpoint answering JSON.
// Tokens and keys only come from environment variables, named here.
import { z } from 'zod';

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name, e.g. MENSA_API_TOKEN');
const dotted = z.string().regex(/^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/, 'a dotted path, e.g. data.items');

export const httpSourceSchema = z.strictObject({
  kind: z.literal('http'),
  /** The listing's URL. One whose query holds a key goes in urlEnv instead. */
  url: z.url({ protocol: /^https?$/ }).optional(),
  urlEnv: envName.optional(),
  /** Sent as `Authorization: Bearer <value>`. */
  authEnv: envName.optional(),
  /** Other headers, each value from an environment variable: { X-Api-Key: MENSA_API_KEY }. */
  headersEnv: z.record(z.string().regex(/^[A-Za-z0-9-]+$/, 'a header name'), envName).default({}),
  /** Where the array of rows is in the answer; absent: the answer is the array. */
  itemsPath: dotted.optional(),
  /** next: a dotted path to the next page's URL in the answer; param: a page number in the query. */
  paging: z.union([
    z.strictObject({ next: dotted }),
    z.strictObject({ param: z.string().min(1), first: z.number().int().min(0).default(1) }),
  ]).optional(),
  /** Per request; a slow back-office fails the run, retried at the next schedule. */
  timeoutSeconds: z.number().positive().max(600).default(30),
  /**
   * Incremental only: the query parameter the API filters by change time with, so a run asks
   * for the rows changed since the cursor instead of reading the whole listing. The value is the
   * cursor's change time minus overlapSeconds (default: the cursor's lagSeconds): the API's own
   * comparison (exclusive, or at a coarser precision) must not drop rows the cursor still wants;
   * the (column, key) cursor then filters exactly, as without since.
   */
  since: z.strictObject({
    param: z.string().regex(/^[A-Za-z0-9_.[\]-]+$/, 'a query parameter name, e.g. modificatiDal'),
    /** iso: UTC instant (2026-11-24T08:59:55Z); local: wall time in timeZone (2026-11-24T09:59:55); date: the local date; epoch: seconds. */
    format: z.enum(['iso', 'local', 'date', 'epoch']).default('iso'),
    overlapSeconds: z.number().min(0).optional(),
  }).optional(),
  /** A guard against a server whose next link never ends. */
  maxPages: z.number().int().positive().default(10_000),
}).superRefine((v, ctx) => {
  if (!v.url === !v.urlEnv) ctx.addIssue({ code: 'custom', path: ['url'], message: 'set url, or urlEnv naming the environment variable that holds it (one, not both)' });
});

export type HttpSourceConfig = z.infer<typeof httpSourceSchema>;
