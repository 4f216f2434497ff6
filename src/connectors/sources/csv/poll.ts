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
import type { Batch, PollContext, RowError } from '../../contract.js';
import type { DeclarativeSpec } from '../../declarative/schema.js';
import { dateAlias, type RowMapper } from '../../declarative/map-row.js';
import { cellText, entityIds } from '../../sql/rows.js';
import { parseWallTime, wallTimeToInstant } from '../../../util/local-time.js';
import { nextTurn, SLICE } from '../../../util/next-turn.js';
import { isoWallText } from './dates.js';
import { matchingFiles, shownPath } from './files.js';
import { CsvFileError, readCsv, type ReadOptions } from './read.js';
import type { CsvSourceConfig } from './schema.js';

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
  progress?: { bytes: number };
}

type FullBatch<C> = Batch<C> & Required<Pick<Batch, 'events' | 'cancellations' | 'errors'>> & { rowsRead: number };
const emptyBatch = <C>(): FullBatch<C> => ({ events: [], cancellations: [], errors: [], rowsRead: 0 });

/** The row as the mapping reads it: `id`, and each date as ISO wall-time text under its alias. */
function prepared(spec: DeclarativeSpec, row: Record<string, unknown>): Record<string, unknown> {
  if (spec.key !== 'id') row.id = row[spec.key];
  for (const [name, column] of Object.entries(spec.event.dates)) {
    const text = cellText(row[column]);
    const iso = text === undefined ? undefined : isoWallText(text);
    // An impossible date (31/02) keeps the file's own text, so the row error quotes what the file says.
    row[dateAlias(name)] = iso !== undefined && parseWallTime(iso) ? iso : text;
  }
  return row;
}

/** A row error and an event name their row by key, file and line: what a CED person can look up. */
const located = (id: string, shown: string, line: number) => `${id} (${shown} line ${line})`;

function readOptions(p: CsvPollSpec, file: string, ctx: { signal: AbortSignal }): ReadOptions & { shown: string } {
  const shown = shownPath(file);
  return { shown, signal: ctx.signal, ...(p.progress ? { progress: p.progress } : {}), onHeader: (columns: string[]) => p.checkHeader(columns, shown) };
}

/** Applies a row's verdict to the batch; returns whether it produced anything for its entity. */
function apply(batch: FullBatch<unknown>, v: ReturnType<RowMapper>, where: string): boolean {
  if (v.errors?.length) batch.errors.push(...v.errors.map((e): RowError => ({ ...e, rowKey: where })));
  for (const e of v.events ?? []) batch.events.push({ ...e, rowKey: where });
  return Boolean(v.events?.length);
}

export async function* csvWindow(p: CsvPollSpec, ctx: PollContext<unknown, never>): AsyncGenerator<Batch<never>> {
  const { spec } = p;
  const files = await matchingFiles(p.path);
  const file = files[files.length - 1];
  if (!file) throw new CsvFileError(`${shownPath(p.path)}: no file matches (has the back-office exported it yet?); the next run tries again`);
  const w = spec.window!;
  const from = ctx.now.getTime() - w.behindHours * 3_600_000;
  const to = ctx.now.getTime() + w.aheadHours * 3_600_000;
  const pending = new Set(entityIds(ctx.pendingEntities, spec.name));
  const seen = new Set<string>();
  const opts = readOptions(p, file, ctx);
  let batch = emptyBatch<never>();
  let mapped = 0;
  for await (const rec of readCsv(file, p.source, opts)) {
    batch.rowsRead++;
    if (batch.rowsRead % SLICE === 0) await nextTurn();
    if ('error' in rec) {
      batch.errors.push({ rowKey: located('?', opts.shown, rec.line), field: '(line)', message: rec.error });
      continue;
    }
    const row = prepared(spec, rec.row);
    const id = cellText(row.id);
    const where = located(id ?? '?', opts.shown, rec.line);
    if (id === undefined) {
      batch.errors.push({ rowKey: where, field: spec.key, message: 'row without primary key' });
      continue;
    }
    if (!inWindow(cellText(row[w.column]), spec.timeZone, from, to) && !pending.has(id)) continue;
    seen.add(id);
    const v = p.verdict(row, id);
    if (!apply(batch, v, where) && pending.has(id)) batch.cancellations.push({ entity: `${spec.name}:${id}`, reason: v.cancel ?? 'no event any more for this entity' });
    if (++mapped % spec.pageSize === 0) {
      yield batch;
      batch = emptyBatch();
    }
  }
  for (const id of pending) if (!seen.has(id)) batch.cancellations.push({ entity: `${spec.name}:${id}`, reason: `the row is no longer in ${basename(file)}` });
  yield batch;
}

/** Outside the window only with a readable date outside it: a missing or bad date is read, to be reported. */
function inWindow(text: string | undefined, zone: string, from: number, to: number): boolean {
  const wall = text === undefined ? null : parseWallTime(isoWallText(text));
  if (!wall) return true;
  const at = wallTimeToInstant(wall, zone).getTime();
  return at >= from && at <= to;
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
      batch.rowsRead++;
      if (batch.rowsRead % SLICE === 0) await nextTurn();
      if ('error' in rec) {
        batch.errors.push({ rowKey: located('?', opts.shown, rec.line), field: '(line)', message: rec.error });
      } else {
        const row = prepared(spec, rec.row);
        const id = cellText(row.id);
        const where = located(id ?? '?', opts.shown, rec.line);
        if (id === undefined) batch.errors.push({ rowKey: where, field: spec.key, message: 'row without primary key' });
        else {
          const v = p.verdict(row, id);
          if (!apply(batch, v, where) && v.cancel) batch.cancellations.push({ entity: v.entity ?? `${spec.name}:${id}`, reason: v.cancel });
        }
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
