// `source: { kind: csv, … }` in connector.yaml: a file the back-office exports (often nightly),
// read as a stream. Nothing here is secret, so everything may live in the YAML.
import { z } from 'zod';

export const CSV_ENCODINGS = ['utf8', 'latin1', 'windows-1252'] as const;

export const csvSourceSchema = z.strictObject({
  kind: z.literal('csv'),
  /** A file, or a glob in the file name (`exports/avvisi-*.csv`); relative to connector.yaml's folder or absolute. */
  path: z.string().min(1),
  /** Italian Excel and most municipal software write `;`. */
  delimiter: z.string().length(1).default(';'),
  /** utf8 (a BOM is dropped); latin1 is read as windows-1252, which is what "latin1" exports really are (€ is 0x80). */
  encoding: z.enum(CSV_ENCODINGS).default('utf8'),
  /** true: the first line names the columns. false: name them in `columns`. */
  header: z.boolean().default(true),
  columns: z.array(z.string().min(1)).min(1).optional(),
  /**
   * A file modified less than this long ago may still be being written: the run fails and the
   * next scheduled one tries again. Exports are written in seconds; a minute is a safe margin.
   */
  settleSeconds: z.number().min(0).default(60),
}).superRefine((v, ctx) => {
  if (!v.header && !v.columns) ctx.addIssue({ code: 'custom', path: ['columns'], message: 'header: false needs columns: [the column names, in file order]' });
  if (v.header && v.columns) ctx.addIssue({ code: 'custom', path: ['columns'], message: 'columns is for files without a header line (header: false)' });
  const folder = v.path.slice(0, Math.max(v.path.lastIndexOf('/'), v.path.lastIndexOf('\\')) + 1);
  if (/[*?]/.test(folder)) ctx.addIssue({ code: 'custom', path: ['path'], message: 'a glob (* or ?) may only be in the file name, not in a folder' });
});

export type CsvSourceConfig = z.infer<typeof csvSourceSchema>;
