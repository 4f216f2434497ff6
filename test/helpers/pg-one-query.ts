// node-postgres made strict about one query at a time per connection, for every test file
// (pg-one-query.setup.ts). pg 8 queues a query sent while its connection is busy, with a deprecation
// warning printed once per process and only from the third; pg 9 refuses it. Two queries at once
// on one connection are statements of one transaction racing (Promise.all over a transaction).
// The query still goes through as pg 8 sends it (refusing it here would also refuse the ROLLBACK
// that follows and hide the cause); the test that sent it fails, naming the query and the caller.
import pg from 'pg';

interface ClientState {
  _activeQuery?: { text?: string; name?: string } | null;
  _queryQueue?: Array<{ text?: string; name?: string }>;
  pipeline?: boolean;
}

const sentWhileBusy: string[] = [];
Error.stackTraceLimit = Math.max(Error.stackTraceLimit, 40); // past knex's frames to the caller

/** Our frames only: the caller that sent the query, not knex's and pg's own. */
const ours = (stack: string | undefined) => (stack ?? '').split('\n').slice(1)
  .filter((l) => !/node_modules|node:internal|<anonymous>|pg-one-query/.test(l)).join('\n');
const sqlOf = (q: unknown) => String(typeof q === 'string' ? q : (q as { text?: string; name?: string } | undefined)?.text ?? (q as { name?: string } | undefined)?.name).slice(0, 160);

const query = pg.Client.prototype.query as ((this: pg.Client, ...args: unknown[]) => unknown) & { strict?: true };
if (!query.strict) {
  const strict = function (this: pg.Client & ClientState, ...args: unknown[]): unknown {
    const busy = this._activeQuery ?? this._queryQueue?.[0];
    if (busy && !this.pipeline) sentWhileBusy.push(`"${sqlOf(args[0])}" sent while "${sqlOf(busy)}" was running, from\n${ours(new Error().stack)}`);
    return query.apply(this, args);
  };
  (pg.Client.prototype as { query: unknown }).query = Object.assign(strict, { strict: true as const });
}

/** Throws naming the first query sent on a busy connection since the last call, if any. */
export function checkOneQueryAtATime(): void {
  if (sentWhileBusy.length === 0) return;
  const first = sentWhileBusy[0];
  const more = sentWhileBusy.length - 1;
  sentWhileBusy.length = 0;
  throw new Error(`node-postgres: a query sent on a connection still running another (pg 9 refuses it): ${first}${more ? `\n(and ${more} more)` : ''}`);
}
