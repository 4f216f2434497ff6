// The window shape over rows that cannot be queried, only read in order (a file, an HTTP
// listing): every row is read, those dated in the window (or without a readable date, to be
// reported) and those of pending entities are mapped, and pending entities not met are cancelled.
import type { Batch, PollContext, RowError } from '../contract.js';
import type { DeclarativeSpec } from '../declarative/schema.js';
import { dateAlias, type RowMapper } from '../declarative/map-row.js';
import { cellText, entityIds } from '../sql/rows.js';
import { parseWallTime, wallTimeToInstant } from '../../util/local-time.js';
import { nextTurn, SLICE } from '../../util/next-turn.js';
import { isoWallText } from './csv/dates.js';

/** A row as read, or why it could not be; `where` says where it is (a file's line, an item of a page). */
export type SourceRow = { where: string; row: Record<string, unknown> } | { where: string; error: string; field?: string };

export type FullBatch<C> = Batch<C> & Required<Pick<Batch, 'events' | 'cancellations' | 'errors'>> & { rowsRead: number };
export const emptyBatch = <C>(): FullBatch<C> => ({ events: [], cancellations: [], errors: [], rowsRead: 0 });

/** A row error and an event name their row by key and place: what a CED person can look up. */
export const located = (id: string, where: string) => `${id} (${where})`;

/** The row as the mapping reads it: `id`, and each date as ISO wall-time text under its alias. */
export function prepared(spec: DeclarativeSpec, row: Record<string, unknown>): Record<string, unknown> {
  if (spec.key !== 'id') row.id = row[spec.key];
  for (const [name, column] of Object.entries(spec.event.dates)) {
    const text = cellText(row[column]);
    const iso = text === undefined ? undefined : isoWallText(text, spec.timeZone);
    // An impossible date (31/02) keeps the source's own text, so the row error quotes what it says.
    row[dateAlias(name)] = iso !== undefined && parseWallTime(iso) ? iso : text;
  }
  return row;
}

/** Applies a row's verdict to the batch; returns whether it produced anything for its entity. */
export function apply(batch: FullBatch<unknown>, v: ReturnType<RowMapper>, where: string): boolean {
  if (v.errors?.length) batch.errors.push(...v.errors.map((e): RowError => ({ ...e, rowKey: where })));
  for (const e of v.events ?? []) batch.events.push({ ...e, rowKey: where });
  return Boolean(v.events?.length);
}

/** The wall time a cell holds as an instant, or null when it is missing or unreadable. */
export function instantOf(value: unknown, zone: string): number | null {
  const text = cellText(value);
  const wall = text === undefined ? null : parseWallTime(isoWallText(text, zone));
  return wall ? wallTimeToInstant(wall, zone).getTime() : null;
}

/**
 * A row read: counted (giving the event loop back every SLICE rows), made ready for the mapping,
 * with its id and place; null when it cannot be keyed, its row error recorded in the batch.
 */
export async function keyedRow(spec: DeclarativeSpec, rec: SourceRow, batch: FullBatch<unknown>, unit: string): Promise<{ row: Record<string, unknown>; id: string; where: string } | null> {
  batch.rowsRead++;
  if (batch.rowsRead % SLICE === 0) await nextTurn();
  if ('error' in rec) {
    batch.errors.push({ rowKey: located('?', rec.where), field: rec.field ?? unit, message: rec.error });
    return null;
  }
  const row = prepared(spec, rec.row);
  const id = cellText(row.id);
  const where = located(id ?? '?', rec.where);
  if (id === undefined) {
    batch.errors.push({ rowKey: where, field: spec.key, message: 'row without primary key' });
    return null;
  }
  return { row, id, where };
}

export async function* windowOverRows(rows: AsyncIterable<SourceRow>, o: { spec: DeclarativeSpec; verdict: RowMapper; goneReason: string }, ctx: PollContext<unknown, never>): AsyncGenerator<Batch<never>> {
  const { spec } = o;
  const w = spec.window!;
  const from = ctx.now.getTime() - w.behindHours * 3_600_000;
  const to = ctx.now.getTime() + w.aheadHours * 3_600_000;
  const pending = new Set(entityIds(ctx.pendingEntities, spec.name));
  const seen = new Set<string>();
  let batch = emptyBatch<never>();
  let mapped = 0;
  for await (const rec of rows) {
    const keyed = await keyedRow(spec, rec, batch, '(line)');
    if (!keyed) continue;
    const { row, id, where } = keyed;
    // Outside the window only with a readable date outside it: a missing or bad date is read, to be reported.
    const at = instantOf(row[w.column], spec.timeZone);
    if (at !== null && (at < from || at > to) && !pending.has(id)) continue;
    seen.add(id);
    const v = o.verdict(row, id);
    if (!apply(batch, v, where) && pending.has(id)) batch.cancellations.push({ entity: `${spec.name}:${id}`, reason: v.cancel ?? 'no event any more for this entity' });
    if (++mapped % spec.pageSize === 0) {
      yield batch;
      batch = emptyBatch();
    }
  }
  for (const id of pending) if (!seen.has(id)) batch.cancellations.push({ entity: `${spec.name}:${id}`, reason: o.goneReason });
  yield batch;
}
