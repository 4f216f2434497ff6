// The two shapes over an HTTP JSON listing. Every run reads every page (one at a time), except an
// incremental one with source.since, which asks the API for the rows changed since the cursor.
//
// window: as over a file (window-rows.ts): the rows in the window, those without a readable
// date, and those of pending entities; a pending entity the listing no longer has is cancelled.
//
// incremental: a (change column, key) cursor, like a database's (§2 of docs/connectors.md), kept
// as text at the precision the API writes. The listing is not ordered, so the rows after the
// cursor are picked from every page and the new cursor (the greatest pair read) is committed with
// the run's last page; a run that fails midway is read again from the old cursor, and the dedup
// ledger sends nothing twice. The upper bound is the back-office SERVER's clock (the HTTP Date
// header of the first page, Ponte's own clock only if it sends none) minus lagSeconds, fixed
// before reading: rows stamped later are left for the next run.
import type { Batch, PollContext } from '../../contract.js';
import type { DeclarativeSpec } from '../../declarative/schema.js';
import type { RowMapper } from '../../declarative/map-row.js';
import { cellText } from '../../sql/rows.js';
import { instantToWallTime, localDateOf, parseWallTime, wallTimeToInstant } from '../../../util/local-time.js';
import { isoWallText } from '../csv/dates.js';
import { apply, emptyBatch, keyedRow, windowOverRows, type SourceRow } from '../window-rows.js';
import { fetchPages, HttpSourceError, shownUrl, type Page } from './fetch.js';
import type { HttpSourceConfig } from './schema.js';

export interface ItemCursor { ts: string; id: string }

export interface HttpPollSpec {
  spec: DeclarativeSpec;
  source: HttpSourceConfig;
  verdict: RowMapper;
  /** Throws when no row of the first non-empty page has a column connector.yaml maps. */
  checkColumns(seen: string[], url: string): void;
}

/** Nested objects become dotted names ({ genitore: { cf } } → "genitore.cf"); arrays stay values. */
export function flatten(value: unknown, prefix = '', out: Record<string, unknown> = {}): Record<string, unknown> {
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) flatten(v, `${prefix}${k}.`, out);
    else out[`${prefix}${k}`] = v;
  }
  return out;
}

async function* rowsOf(p: HttpPollSpec, pages: AsyncIterable<Page>): AsyncGenerator<SourceRow> {
  let checked = false;
  for await (const page of pages) {
    const rows = page.items.map((item, i): SourceRow => {
      const where = `page ${page.number} item ${i + 1}`;
      return item !== null && typeof item === 'object' && !Array.isArray(item) ? { where, row: flatten(item) } : { where, error: 'not an object', field: '(item)' };
    });
    // Column names are checked on the first rows there are (a JSON row simply lacks a misspelt field).
    if (!checked && rows.length) {
      const seen = new Set<string>();
      for (const r of rows) if ('row' in r) for (const k of Object.keys(r.row)) seen.add(k);
      p.checkColumns([...seen], page.url);
      checked = true;
    }
    yield* rows;
  }
}

export function httpWindow(p: HttpPollSpec, ctx: PollContext<unknown, never>): AsyncGenerator<Batch<never>> {
  const shown = shownUrl(p.source.url ?? '');
  return windowOverRows(rowsOf(p, fetchPages(p.source, ctx.signal)), { spec: p.spec, verdict: p.verdict, goneReason: `the row is no longer in the listing${p.source.url ? ` of ${shown}` : ''}` }, ctx);
}

const WALL = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?$/;

/** A change time as comparable text, 'YYYY-MM-DD HH:MM:SS.fffffffff', at the precision written; null if unreadable. */
export function cursorText(value: unknown, zone: string): string | null {
  const text = cellText(value);
  if (text === undefined) return null;
  const iso = isoWallText(text, zone);
  const m = WALL.exec(iso);
  if (!m || !parseWallTime(iso)) return null;
  return `${m[1]} ${m[2] ?? '00:00'}:${m[3] ?? '00'}.${(m[4] ?? '').padEnd(9, '0')}`;
}

/** Keys compare as numbers when both are digits, else as text. */
function compareIds(a: string, b: string): number {
  if (/^\d+$/.test(a) && /^\d+$/.test(b)) return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
  return a < b ? -1 : a > b ? 1 : 0;
}

const after = (x: ItemCursor, y: ItemCursor) => (x.ts > y.ts ? 1 : x.ts < y.ts ? -1 : compareIds(x.id, y.id)) > 0;

/**
 * source.since's parameter: the cursor's change time minus the overlap, rounded down to the
 * format's precision. None without a cursor (startFrom: beginning reads everything; now only
 * reads the first page's Date), so the first run is as without since.
 */
export function sinceQuery(p: Pick<HttpPollSpec, 'spec' | 'source'>, cursor: ItemCursor | undefined): Record<string, string> {
  const since = p.source.since;
  if (!since || !cursor?.ts) return {};
  const zone = p.spec.timeZone;
  // Seconds only: a fraction dropped is earlier, never later. An hour that DST repeats is taken
  // at its earlier instant (wallTimeToInstant), again the safe side.
  const at = wallTimeToInstant(cursor.ts.slice(0, 19), zone).getTime() - (since.overlapSeconds ?? p.spec.cursor!.lagSeconds) * 1000;
  const value = since.format === 'epoch' ? String(Math.floor(at / 1000))
    : since.format === 'date' ? localDateOf(new Date(at), zone)
    : since.format === 'local' ? instantToWallTime(new Date(at), zone).replace(' ', 'T')
    : `${new Date(at).toISOString().slice(0, 19)}Z`;
  return { [since.param]: value };
}

export async function* httpChanges(p: HttpPollSpec, ctx: PollContext<unknown, ItemCursor>): AsyncGenerator<Batch<ItemCursor>> {
  const { spec } = p;
  const column = spec.cursor!.column!;
  const pages = fetchPages(p.source, ctx.signal, process.env, sinceQuery(p, ctx.cursor));
  // The first page fixes the bound: its Date header is the back-office's clock when reading began.
  const first = await pages.next();
  const serverNow = (first.done ? null : first.value.serverDate) ?? Date.now();
  const bound = `${instantToWallTime(new Date(serverNow - spec.cursor!.lagSeconds * 1000), spec.timeZone)}.999999999`;
  if (!ctx.cursor && spec.cursor!.startFrom === 'now') {
    await pages.return(undefined);
    yield { events: [], rowsRead: 0, cursor: { ts: bound, id: '' } };
    return;
  }
  const from = ctx.cursor ?? { ts: '', id: '' };
  let max = from;
  async function* all(): AsyncGenerator<Page> {
    if (!first.done) yield first.value;
    yield* { [Symbol.asyncIterator]: () => pages };
  }
  let batch = emptyBatch<ItemCursor>();
  let mapped = 0;
  for await (const rec of rowsOf(p, all())) {
    const keyed = await keyedRow(spec, rec, batch, '(item)');
    if (!keyed) continue;
    const { row, id, where } = keyed;
    const ts = cursorText(row[column], spec.timeZone);
    // As on a database (§2.5): a row the cursor can never place would be skipped for good.
    if (ts === null) throw new HttpSourceError(`${spec.name} (${shownUrl(p.source.url ?? '')}): the row with ${spec.key} ${id} (${rec.where}) has no readable ${column} ("${cellText(row[column]) ?? ''}"); an incremental cursor can never read it — fill ${column} in the back-office`);
    const here = { ts, id };
    if (!after(here, from) || ts > bound) continue;
    if (after(here, max)) max = here;
    const v = p.verdict(row, id);
    if (!apply(batch, v, where) && v.cancel) batch.cancellations.push({ entity: v.entity ?? `${spec.name}:${id}`, reason: v.cancel });
    if (++mapped % spec.pageSize === 0) {
      yield batch;
      batch = emptyBatch();
    }
  }
  yield { ...batch, cursor: max };
}
