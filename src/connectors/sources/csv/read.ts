// One CSV file, streamed: bytes → text in the file's encoding → records with their line number.
// Memory stays bounded whatever the file's size (the caller commits a page before asking for
// more). A file that is missing, empty, still being written or changed while read fails the
// run: the next scheduled run reads it again, and the dedup ledger makes the re-read harmless.
import { open, type FileHandle } from 'node:fs/promises';
import { pipeline, Readable } from 'node:stream';
import { CsvError, parse } from 'csv-parse';
import type { CsvSourceConfig } from './schema.js';
import { maskText } from '../../../util/mask.js';
import { startsWith, type Consumed, type PrefixHash } from './fingerprint.js';

export type CsvLine = { line: number; row: Record<string, string> } | { line: number; error: string };

export interface ReadOptions {
  /** The name errors use (the path as the operator wrote it, or relative to the working folder). */
  shown: string;
  /** Bytes read so far, for callers (and tests) that watch how much of the file is in flight. */
  progress?: { bytes: number };
  signal?: AbortSignal;
  /** The clock the settle time is measured against (the file system's, i.e. this machine's). */
  now?: () => number;
  /** Called with the column names before any row is yielded: it may throw to fail the run. */
  onHeader?: (columns: string[]) => void;
  /** Fed every byte read, in order: what a position cursor records as consumed. */
  hash?: PrefixHash;
  /**
   * What an earlier run consumed of this file. Checked before any row is read: `unchanged` is
   * set, and when it is false nothing is yielded (the file was rewritten; the caller decides).
   */
  prefix?: { consumed: Consumed; unchanged?: boolean };
}

export class CsvFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CsvFileError';
  }
}

async function opened(path: string, shown: string): Promise<FileHandle> {
  try {
    return await open(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new CsvFileError(`${shown}: the file does not exist (has the back-office exported it yet?); the next run tries again`);
    throw new CsvFileError(`${shown}: cannot be opened (${code ?? (e as Error).message})`);
  }
}

/** Records of one file, header excluded, each with the line it ends on (1 = the first line). */
export async function* readCsv(path: string, cfg: CsvSourceConfig, opts: ReadOptions): AsyncGenerator<CsvLine> {
  const { shown } = opts;
  const handle = await opened(path, shown);
  const streams: Array<{ destroy(): unknown }> = [];
  try {
    const before = await handle.stat();
    const age = (opts.now ?? Date.now)() - before.mtimeMs;
    if (age < cfg.settleSeconds * 1000) {
      throw new CsvFileError(`${shown}: modified ${Math.max(0, Math.round(age / 1000))} s ago, less than settleSeconds (${cfg.settleSeconds}): it may still be being written; the next run reads it`);
    }
    if (opts.prefix) {
      // On this handle, after the stat above: when the prefix holds, the check at the end
      // (changed while read?) covers the time it took too.
      opts.prefix.unchanged = await startsWith(handle, before.size, opts.prefix.consumed);
      if (!opts.prefix.unchanged) return;
    }
    if (before.size === 0 && !cfg.header) return; // no header expected: an empty export is "no rows today"
    if (before.size === 0) throw new CsvFileError(`${shown}: the file is empty (not even a header line): the export may have failed or still be in progress`);
    const last = Buffer.alloc(1);
    await handle.read(last, 0, 1, before.size - 1);
    // Every export ends its last line; one that does not is cut short (still being written, or a copy that failed).
    if (last[0] !== 0x0a) throw new CsvFileError(`${shown}: the last line does not end with a line break: the file may still be being written or be cut short; nothing was read from it`);
    // A UTF-8 byte order mark settles the encoding whatever `encoding` says: read as
    // Windows-1252 it became "ï»¿" glued to the first column's name, which then "was missing".
    const head = Buffer.alloc(3);
    await handle.read(head, 0, 3, 0);
    const utf8 = cfg.encoding === 'utf8' || (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf);

    // Only the bytes seen at the start: an append while reading cannot hand over half a line.
    const stream = handle.createReadStream({ start: 0, end: before.size - 1, autoClose: false });
    const decoder = new TextDecoder(utf8 ? 'utf-8' : 'windows-1252');
    async function* text(): AsyncGenerator<string> {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        if (opts.progress) opts.progress.bytes += chunk.length;
        opts.hash?.add(chunk);
        // stream: true is also what makes € right: Node 20's one-shot decode of windows-1252 takes
        // a Latin-1 fast path, reading 0x80 as U+0080 instead of € (window.test.ts holds it).
        yield decoder.decode(chunk, { stream: true });
      }
      const tail = decoder.decode();
      if (tail) yield tail;
    }
    const parser = parse({
      delimiter: cfg.delimiter, info: true, relax_column_count: true, skip_empty_lines: true,
      // Exports write `Primaria "G. Verdi"` unquoted: a quote inside a field is text, not an error.
      relax_quotes: true,
      // Both, always: left to guess from the first line, a \r\n header makes a \n-only file one huge record.
      record_delimiter: ['\r\n', '\n'],
    });
    // pipeline (not pipe): when the run stops early (an abort, a failed page) every stream is
    // destroyed; the error this gives is not news (the loop below has already ended), so it is dropped.
    pipeline(Readable.from(text()), parser, () => {});
    streams.push(stream, parser);
    let columns = cfg.columns;
    if (columns) opts.onHeader?.(columns);
    try {
      for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
        opts.signal?.throwIfAborted();
        // A Windows-1252 export read as UTF-8 decodes à, è, ò as U+FFFD: "Niccol\uFFFD" would reach
        // citizens. It is the connector's setting that is wrong, not a row: the run fails.
        if (utf8 && record.some((f) => f.includes('\uFFFD'))) {
          throw new CsvFileError(`${shown}: line ${info.lines} is not UTF-8 text (an accented letter such as à or ò does not decode): the export is probably Windows-1252, as Excel and most municipal software write it; set encoding: windows-1252 under source: in connector.yaml`);
        }
        if (!columns) {
          columns = headerOf(record, shown);
          opts.onHeader?.(columns);
          continue;
        }
        if (record.length !== columns.length) {
          yield { line: info.lines, error: `has ${record.length} field(s), the header has ${columns.length}` };
          continue;
        }
        const row: Record<string, string> = {};
        for (let i = 0; i < columns.length; i++) row[columns[i]!] = record[i]!;
        yield { line: info.lines, row };
      }
    } catch (e) {
      if (!(e instanceof CsvError)) throw e;
      // csv-parse quotes the offending field, which may be a fiscal code.
      throw new CsvFileError(`${shown}: not a readable CSV file (delimiter "${cfg.delimiter}"): ${maskText((e as Error).message)}`);
    }
    if (!columns) throw new CsvFileError(`${shown}: no header line`);
    const after = await handle.stat();
    if (after.size !== before.size || after.mtimeMs !== before.mtimeMs) {
      throw new CsvFileError(`${shown}: the file changed while it was read (being rewritten?); the next run reads it again`);
    }
  } finally {
    for (const s of streams) s.destroy();
    await handle.close();
  }
}

function headerOf(record: string[], shown: string): string[] {
  const names = record.map((c) => c.trim());
  const blank = names.findIndex((n) => n === '');
  if (blank >= 0) throw new CsvFileError(`${shown}: line 1 (the header) has an empty column name at position ${blank + 1}`);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new CsvFileError(`${shown}: line 1 (the header) names column "${dup}" twice`);
  return names;
}
