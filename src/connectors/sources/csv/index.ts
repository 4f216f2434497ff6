// The CSV source: the file(s) `path` names, streamed, with the header checked against every
// column connector.yaml maps before a row is read (as query.sql's columns are).
import { dirname } from 'node:path';
import type { RowSource, SourceInputs } from '../source.js';
import type { CsvSourceConfig } from './schema.js';
import { rowMapper } from '../../declarative/map-row.js';
import { mappedColumns, missingColumnsMessage, MissingColumnsError } from '../../declarative/columns.js';
import { csvChanges, csvWindow, type CsvPollSpec, type FilePosition } from './poll.js';
import { matchingFiles, resolvePath, shownPath } from './files.js';
import { readCsv } from './read.js';

export function csvRows({ spec, file, where, key }: SourceInputs, progress?: { bytes: number }): RowSource {
  const mapped = mappedColumns(spec, key);
  const pollSpec = (source: CsvSourceConfig): CsvPollSpec => ({
    spec, source, path: resolvePath(source.path, dirname(file)), progress,
    verdict: rowMapper(spec, { entityOnVerdict: spec.shape === 'incremental' }),
    checkHeader(columns, shown) {
      const message = missingColumnsMessage({ ...where, sqlFile: shown }, mapped, columns, 'file header');
      if (message) throw new MissingColumnsError(message);
    },
  });
  return {
    async check(source, log) {
      const p = pollSpec(source as CsvSourceConfig);
      const files = await matchingFiles(p.path);
      const newest = files[files.length - 1];
      // No file yet is normal for daily files before the first export: nothing to check against.
      if (!newest) {
        log.info({ connector: spec.name, path: shownPath(p.path) }, 'no file matches yet');
        return;
      }
      // The header only: the generator stops as soon as it has been checked.
      const lines = readCsv(newest, p.source, { shown: shownPath(newest), onHeader: (c) => p.checkHeader(c, shownPath(newest)) });
      await lines.next();
      await lines.return(undefined);
      log.info({ connector: spec.name, file: shownPath(newest) }, 'file and columns readable');
    },
    poll(source, ctx) {
      const p = pollSpec(source as CsvSourceConfig);
      return spec.shape === 'incremental' ? csvChanges(p, ctx as never as Parameters<typeof csvChanges>[1]) : csvWindow(p, ctx as never);
    },
  };
}

export type { FilePosition };
