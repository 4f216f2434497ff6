// The two shapes over CSV files, with the same row mapping, batches and cancellations as SQL.
//
// window: the newest matching file is the back-office's current state. Every run reads it whole
// (streamed) and keeps the rows whose window date is in [now − behindHours, now + aheadHours],
// rows without a readable date (so they are reported), and rows of entities still pending.
// Pending entities absent from the file are cancelled, as a deleted SQL row is.
//
// incremental: the cursor is a position, { file, line, bytes, sha256 }: the last line read, in
// the last file read, and a fingerprint of the bytes read of it. Files come in name order; lines
// after the cursor, and every line of a later file, are new. A file that no longer starts with the
// bytes already read was rewritten (a vendor's export regenerated whole), however long it now is:
// it is read again from its first line, as a new file would be. That is safe because a row's
// dedup key is made of its columns, never of its line, so the rows already read give events the
// ledger already holds. A replay states history again, though: an entity's older line would
// restate its set without the newer event still waiting to go out, and cancel it. So a replay
// first finds, for each entity with a pending send, its last line in the file; its earlier lines
// are history and apply nothing (their row errors are still reported).
import { basename } from 'node:path';
import type { Batch, PollContext } from '../../contract.js';
import type { DeclarativeSpec } from '../../declarative/schema.js';
import type { RowMapper } from '../../declarative/map-row.js';
import { matchingFiles, shownPath } from './files.js';
import { CsvFileError, readCsv, type ReadOptions } from './read.js';
import { PrefixHash } from './fingerprint.js';
import type { CsvSourceConfig } from './schema.js';
import { apply, emptyBatch, keyedRow, windowOverRows, type SourceRow } from '../window-rows.js';
import { cellText, entityIds } from '../../sql/rows.js';

/**
 * Where an incremental CSV connector has read up to: a file's name, its last line read, and the
 * bytes consumed of it with their SHA-256 (fingerprint.ts). A cursor written before the
 * fingerprint has only file and line: it continues from the line, and its next position has them.
 */
export interface FilePosition { file: string; line: number; bytes?: number; sha256?: string }

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
    const hash = new PrefixHash();
    if (last) for await (const rec of readCsv(last, p.source, { ...readOptions(p, last, ctx), hash })) line = rec.line;
    yield { events: [], rowsRead: 0, cursor: last ? { file: basename(last), line, ...hash.consumed() } : { file: '', line: 0 } };
    return;
  }
  const cursor = ctx.cursor ?? { file: '', line: 0 };
  for (const file of files) {
    const name = basename(file);
    if (name < cursor.file) continue;
    if ((yield* readFile(p, ctx, file, name === cursor.file ? cursor : undefined)) === 'rewritten') {
      // As a new file: the dedup ledger drops the events of rows already read, the changed and new rows go out.
      ctx.log.warn({ connector: spec.name, file: shownPath(file), linesRead: cursor.line },
        'the file was rewritten since it was read (it no longer starts with the lines already read): reading it again from its first line');
      yield* readFile(p, ctx, file, undefined, true);
    }
  }
}

/**
 * One file's lines after `from` (all of them without it), in pages carrying the new position.
 * 'rewritten' (and nothing yielded) when the file no longer starts with what `from` consumed.
 */
async function* readFile(p: CsvPollSpec, ctx: PollContext<unknown, FilePosition>, file: string, from: FilePosition | undefined, renewed = false): AsyncGenerator<Batch<FilePosition>, 'read' | 'rewritten'> {
  const { spec } = p;
  const name = basename(file);
  const after = from?.line ?? 0;
  const opts = readOptions(p, file, ctx);
  const hash = new PrefixHash();
  const prefix: ReadOptions['prefix'] = from?.bytes !== undefined && from.sha256 !== undefined ? { consumed: { bytes: from.bytes, sha256: from.sha256 } } : undefined;
  const lastOfPending = renewed ? await pendingLastLines(p, ctx, file) : undefined;
  let history = 0;
  let batch = emptyBatch<FilePosition>();
  let mapped = 0;
  let lastLine = 0;
  for await (const rec of readCsv(file, p.source, { ...opts, hash, ...(prefix ? { prefix } : {}) })) {
    lastLine = rec.line;
    if (rec.line <= after) continue;
    const at = `${opts.shown} line ${rec.line}`;
    const keyed = await keyedRow(spec, 'error' in rec ? { where: at, error: rec.error } : { where: at, row: rec.row }, batch, '(line)');
    if (keyed) {
      const v = p.verdict(keyed.row, keyed.id);
      if ((lastOfPending?.get(keyed.id) ?? 0) > rec.line) {
        history++;
        if (v.errors?.length) apply(batch, { errors: v.errors }, keyed.where);
      } else if (!apply(batch, v, keyed.where) && v.cancel) batch.cancellations.push({ entity: v.entity ?? `${spec.name}:${keyed.id}`, reason: v.cancel });
    }
    if (++mapped % spec.pageSize === 0) {
      yield { ...batch, cursor: { file: name, line: rec.line, ...hash.consumed() } };
      batch = emptyBatch();
    }
  }
  if (history) ctx.log.info({ connector: spec.name, file: opts.shown, lines: history }, 'lines of the rewritten file followed by a later line for the same row, whose send is pending: history, not applied again');
  // A cursor written before fingerprints has only the line count: a file now shorter was rewritten too.
  if (prefix?.unchanged === false || lastLine < after) return 'rewritten';
  // Also with no new line, when the position gains its first fingerprint (an older cursor) or a new one (a rewritten file).
  if (lastLine > after || (from && !prefix) || renewed) yield { ...batch, cursor: { file: name, line: lastLine, ...hash.consumed() } };
  return 'read';
}

/**
 * For each row (key column) of an entity still waiting to go out, the last line of the file that
 * holds it: the line that states the row now. One more read of the file, on a rewrite only.
 */
async function pendingLastLines(p: CsvPollSpec, ctx: PollContext<unknown, FilePosition>, file: string): Promise<Map<string, number> | undefined> {
  const pending = new Set(entityIds((await ctx.pendingEntitiesNow?.()) ?? [], p.spec.name));
  if (pending.size === 0) return undefined;
  const last = new Map<string, number>();
  const opts = readOptions({ ...p, progress: undefined }, file, ctx); // the progress shown counts the replay's bytes once
  for await (const rec of readCsv(file, p.source, opts)) {
    if ('error' in rec) continue;
    const id = cellText(rec.row[p.spec.key]);
    if (id !== undefined && pending.has(id)) last.set(id, rec.line);
  }
  return last;
}
