// The run of a 'window' SQL connector: keyset pages over the time window, then the pending
// entities the window did not cover, re-read by id. Each row yields its entity's COMPLETE set of
// events (the store cancels pending deliveries whose key left the set), or a cancellation when
// the entity must get nothing any more.
import type { Knex } from 'knex';
import type { Batch, Cancellation, EmittedEvent, PollContext, RowError } from '../contract.js';
import { cellText, chunk, entityIds } from './rows.js';
import { withRowsTotal } from '../progress.js';
import { nextTurn, SLICE } from '../../util/next-turn.js';

/** What one back-office row means now. */
export interface RowVerdict {
  /** The entity's complete current set; empty or absent means "nothing for this entity". */
  events?: EmittedEvent[];
  /** Why the entity gets nothing; sent as a Cancellation only when it has pending deliveries. */
  cancel?: string;
  /** The entity a cancellation is about (incremental connectors; window connectors derive it). */
  entity?: string;
  errors?: RowError[];
}

export interface WindowPollSpec {
  knex: Knex;
  /** Entity prefix ("appointment" for "appointment:123"). */
  entityPrefix: string;
  /** The primary-key column (keyset order and id look-ups); rows carry it as `id`. */
  idColumn: string;
  pageSize: number;
  /** The window query: selected columns and window conditions, no order or limit. */
  windowQuery(): Knex.QueryBuilder;
  /** The same columns for the rows with these ids, whatever their dates. */
  byIds(ids: string[]): Knex.QueryBuilder;
  verdict(row: Record<string, unknown>, id: string): RowVerdict;
  /** Cancellation reason for a pending entity whose row no longer exists. */
  goneReason: string;
}

/** IN lists stay well under SQL Server's 2100-parameter limit. */
export const ID_CHUNK = 500;

/** The next keyset page of a query, ordered by the primary key. */
export function keysetPage(query: Knex.QueryBuilder, idColumn: string, after: unknown, pageSize: number): Knex.QueryBuilder {
  if (after !== undefined) query.andWhere(idColumn, '>', after as Knex.Value);
  return query.orderBy(idColumn, 'asc').limit(pageSize);
}

export async function* pollWindow(spec: WindowPollSpec, ctx: PollContext<unknown, never>): AsyncGenerator<Batch<never>> {
  const pending = new Set(entityIds(ctx.pendingEntities, spec.entityPrefix));
  const seen = new Set<string>();
  let yielded = false;

  const toBatch = async (rows: Record<string, unknown>[]): Promise<Batch<never>> => {
    const batch: Required<Pick<Batch<never>, 'events' | 'cancellations' | 'errors'>> & Batch<never> = { events: [], cancellations: [], errors: [], rowsRead: rows.length };
    for (let i = 0; i < rows.length; i++) {
      // A page's templates render on the event loop the webhook and /metrics share: let them in.
      if (i % SLICE === SLICE - 1) await nextTurn();
      const row = rows[i]!;
      const id = cellText(row.id);
      if (id === undefined) {
        batch.errors.push({ rowKey: '(null)', field: spec.idColumn, message: 'row without primary key' });
        continue;
      }
      seen.add(id);
      const v = spec.verdict(row, id);
      if (v.errors?.length) batch.errors.push(...v.errors);
      if (v.events?.length) batch.events.push(...v.events);
      else if (pending.has(id)) batch.cancellations.push({ entity: `${spec.entityPrefix}:${id}`, reason: v.cancel ?? 'no event any more for this entity' });
    }
    return batch;
  };

  // Rows are read a keyset page at a time and each page is committed before the next is read;
  // what grows with the window is only the set of ids seen (a short string per row in the window),
  // needed to tell which pending entities the window did not cover. A window is "what is due in
  // the next days", not a table's history: a big table belongs to an incremental connector.
  let after: unknown;
  for (;;) {
    ctx.signal.throwIfAborted();
    const rows = (await keysetPage(spec.windowQuery(), spec.idColumn, after, spec.pageSize)) as Record<string, unknown>[];
    if (rows.length === 0) break;
    const total = !yielded && rows.length === spec.pageSize ? await windowRows(spec) : undefined;
    yielded = true;
    yield withRowsTotal(await toBatch(rows), total);
    if (rows.length < spec.pageSize) break;
    after = rows[rows.length - 1]!.id;
  }

  // Pending entities outside the window: moved far away, cancelled, or deleted.
  for (const ids of chunk([...pending].filter((id) => !seen.has(id)), ID_CHUNK)) {
    ctx.signal.throwIfAborted();
    const rows = (await spec.byIds(ids)) as Record<string, unknown>[];
    const batch = await toBatch(rows);
    const gone: Cancellation[] = ids.filter((id) => !seen.has(id)).map((id) => ({ entity: `${spec.entityPrefix}:${id}`, reason: spec.goneReason }));
    batch.cancellations!.push(...gone);
    yielded = true;
    yield batch;
  }

  if (!yielded) yield { events: [], rowsRead: 0 };
}

/** Rows in the window (for progress), counted only when it spans more than one page. */
async function windowRows(spec: WindowPollSpec): Promise<number | undefined> {
  try {
    const row = (await spec.knex.count({ n: '*' }).from(spec.windowQuery().as('window_rows')).first()) as { n: unknown } | undefined;
    return row ? Number(row.n) : undefined;
  } catch {
    return undefined;
  }
}
