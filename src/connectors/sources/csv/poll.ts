// The two shapes over CSV files, with the same row mapping, batches and cancellations as SQL.
//
// window: the newest matching file is the back-office's current state. Every run reads it whole
// (streamed) and keeps the rows whose window date is in [now − behindHours, now + aheadHours],
// rows without a readable date (so they are reported), and rows of entities still pending.
// Pending entities absent from the file are cancelled, as a deleted SQL row is.
//
// incremental: the cursor is a position, { file, line }: the last line read, in the last file
// read. Files come in name order; lines after the cursor, and every line of a later file, are
// new. This suits append-only files and one new file per day (avvisi-20261124.csv). A file that
// now has fewer lines than were read was replaced, not appended to: the run fails, naming it.
import { basename } from 'node:path';
import type { Batch, PollContext } from '../../contract.js';
import type { DeclarativeSpec } from '../../declarative/schema.js';
import type { RowMapper } from '../../declarative/map-row.js';
import { matchingFiles, shownPath } from './files.js';
import { CsvFileError, readCsv, type ReadOptions } from './read.js';
import type { CsvSourceConfig } from './schema.js';
import { apply, emptyBatch, keyedRow, windowOverRows, type SourceRow } from '../window-rows.js';

/** Where an incremental CSV connector has read up to: a file's name and its last line read. */
export interface FilePosition { file: string; line: number }

export interface CsvPollSpec {
  spec: DeclarativeSpec;
  source: CsvSourceConfig;
  /** The source's path, resolved. */
  path: string;
  verdict: RowMapper;
  /** Throws (failing the run before any row is read) when the header lacks a mapped column. */
  checkHeader(columns: string[], shown: string): void;
  progress?: { bytes: number } | undefined;
}

function readOptions(p: CsvPollSpec, file: string, ctx: { signal: AbortSignal }): ReadOptions & { shown: string } {
  const shown = shownPath(file);
  return { shown, signal: ctx.signal, ...(p.progress ? { progress: p.progress } : {}), onHeader: (columns: string[]) => p.checkHeader(columns, shown) };
}

export async function* csvWindow(p: CsvPollSpec, ctx: PollContext<unknown, never>): AsyncGenerator<Batch<never>> {
  const files = await matchingFiles(p.path);
  const file = files[files.length - 1];
  if (!file) throw new CsvFileError(`${shownPath(p.path)}: no file matches (has the back-office exported it yet?); the next run tries again`);
  const opts = readOptions(p, file, ctx);
  async function* rows(): AsyncGenerator<SourceRow> {
    for await (const rec of readCsv(file!, p.source, opts)) {
      const where = `${opts.shown} line ${rec.line}`;
      yield 'error' in rec ? { where, error: rec.error } : { where, row: rec.row };
    }
  }
  yield* windowOverRows(rows(), { spec: p.spec, verdict: p.verdict, goneReason: `the row is no longer in ${basename(file)}` }, ctx);
}

export async function* csvChanges(p: CsvPollSpec, ctx: PollContext<unknown, FilePosition>): AsyncGenerator<Batch<FilePosition>> {
  const { spec } = p;
  const files = await matchingFiles(p.path);
  if (!ctx.cursor && spec.cursor!.startFrom === 'now') {
    // Going live notifies nothing already in the files: only where they end is recorded.
    const last = files[files.length - 1];
    let line = 0;
    if (last) for await (const rec of readCsv(last, p.source, readOptions(p, last, ctx))) line = rec.line;
    yield { events: [], rowsRead: 0, cursor: { file: last ? basename(last) : '', line } };
    return;
  }
  const cursor = ctx.cursor ?? { file: '', line: 0 };
  for (const file of files) {
    const name = basename(file);
    if (name < cursor.file) continue;
    const after = name === cursor.file ? cursor.line : 0;
    const opts = readOptions(p, file, ctx);
    let batch = emptyBatch<FilePosition>();
    let mapped = 0;
    let lastLine = 0;
    for await (const rec of readCsv(file, p.source, opts)) {
      lastLine = rec.line;
      if (rec.line <= after) continue;
      const at = `${opts.shown} line ${rec.line}`;
      const keyed = await keyedRow(spec, 'error' in rec ? { where: at, error: rec.error } : { where: at, row: rec.row }, batch, '(line)');
      if (keyed) {
        const v = p.verdict(keyed.row, keyed.id);
        if (!apply(batch, v, keyed.where) && v.cancel) batch.cancellations.push({ entity: v.entity ?? `${spec.name}:${keyed.id}`, reason: v.cancel });
      }
      if (++mapped % spec.pageSize === 0) {
        yield { ...batch, cursor: { file: name, line: rec.line } };
        batch = emptyBatch();
      }
    }
    if (after > 0 && lastLine < after) {
      throw new CsvFileError(`${opts.shown}: has ${lastLine} line(s) but ${after} were already read: the file was replaced or cut, not appended to; write each day's rows to a new file (or move the connector to a new file name)`);
    }
    if (lastLine > after) yield { ...batch, cursor: { file: name, line: lastLine } };
  }
}
