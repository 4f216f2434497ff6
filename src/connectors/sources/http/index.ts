// The HTTP JSON source: the pages of a listing, checked against the columns connector.yaml maps.
import type { RowSource, SourceInputs } from '../source.js';
import type { HttpSourceConfig } from './schema.js';
import { rowMapper } from '../../declarative/map-row.js';
import { mappedColumns, MissingColumnsError } from '../../declarative/columns.js';
import { httpChanges, httpWindow, type HttpPollSpec } from './poll.js';
import { fetchPages, shownUrl } from './fetch.js';

export function httpRows({ spec, where, key }: SourceInputs): RowSource {
  const mapped = mappedColumns(spec, key);
  const pollSpec = (source: HttpSourceConfig): HttpPollSpec => ({
    spec, source,
    verdict: rowMapper(spec, { entityOnVerdict: spec.shape === 'incremental' }),
    checkColumns(seen, url) {
      const have = new Set(seen);
      const missing = mapped.filter((m) => !have.has(m.column));
      if (!missing.length) return;
      throw new MissingColumnsError(`${spec.name}: ${where.yamlFile} names field(s) that no row of the first page of ${shownUrl(url)} has — `
        + `${missing.map((m) => `${m.field}: "${m.column}"`).join('; ')}. The rows have: ${seen.join(', ') || '(no field)'}. `
        + 'Nothing was read, stored or cancelled: fix the name in connector.yaml (a nested field is "outer.inner"); the next run reads every row again.');
    },
  });
  return {
    async check(source, log) {
      const p = pollSpec(source as HttpSourceConfig);
      const pages = fetchPages(p.source, AbortSignal.timeout(p.source.timeoutSeconds * 1000));
      const first = await pages.next();
      await pages.return(undefined);
      if (!first.done && first.value.items.length) {
        const seen = new Set<string>();
        const { flatten } = await import('./poll.js');
        for (const item of first.value.items) if (item && typeof item === 'object') for (const k of Object.keys(flatten(item))) seen.add(k);
        p.checkColumns([...seen], first.value.url);
      }
      log.info({ connector: spec.name, url: shownUrl(first.done ? '' : first.value.url) }, 'endpoint and fields readable');
    },
    poll(source, ctx) {
      const p = pollSpec(source as HttpSourceConfig);
      return spec.shape === 'incremental' ? httpChanges(p, ctx as never) : httpWindow(p, ctx as never);
    },
  };
}
