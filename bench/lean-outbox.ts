// The floor of any engine that keeps its queue in PostgreSQL: a lean SKIP LOCKED outbox, the one
// the issue quotes at about 96 % of the bare loop. One table, one partial index; each loop claims
// a batch (UPDATE … WHERE id = any(array(SELECT … FOR UPDATE SKIP LOCKED)) RETURNING), sends it,
// and marks it done in one UPDATE: two prepared statements per batch and nothing written between
// claim and send (at least once, as pg-boss). No leases, no status, no log.
// bench/price.ts adds Ponte's guarantees to it one at a time (`LeanExtras`), to price each.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import pLimit from 'p-limit';

export interface OutboxSend {
  post(i: number): Promise<string>;
}

export interface LeanExtras {
  /** A durable `sending` (one UPDATE of the batch) before its requests leave: a crash then holds them, never resends. */
  sending?: boolean;
  /** A row per request in an attempts table (with its index by delivery), inserted with the completion. */
  attempts?: boolean;
  /** Ponte's deliveries row and indexes (dedup key, claim, address, provider id, the status views'). */
  ledger?: boolean;
  /** With `ledger`: Ponte's indexes on deliveries, as `CREATE … INDEX name ON deliveries …` (engines.ts reads them). */
  ledgerIndexes?: string[];
}

export interface LeanOutbox {
  /**
   * Sends every row: `loops` loops of claim(batch) → send (one shared limit) → complete, each batch
   * sent in waves of `wave` rows (default: all of it), each wave marked `sending` first if asked.
   */
  run(send: OutboxSend): Promise<{ perSec: number; done: number }>;
  drop(): Promise<void>;
}

/** Ponte's index definitions retargeted at table `t` (each name prefixed, so two runs never clash). */
function onTable(t: string, defs: readonly string[]): string[] {
  return defs.map((d) => d.replace(/^CREATE (UNIQUE )?INDEX (\S+) ON deliveries /, (_, unique: string | undefined, name: string) => `CREATE ${unique ?? ''}INDEX ${t}_${name} ON ${t} `));
}

/** A fresh outbox of `n` rows, filled and analysed before any clock starts. */
export async function leanOutbox(url: string, opts: { n: number; loops: number; batch: number; wave?: number; concurrency: number } & LeanExtras): Promise<LeanOutbox> {
  const t = `lean_outbox_${randomBytes(4).toString('hex')}`;
  const pool = new pg.Pool({ connectionString: url, max: opts.loops + 1 });
  const drop = async () => {
    await pool.query(`drop table if exists ${t}_attempts, ${t}`).catch(() => {});
    await pool.end();
  };
  const ledger = opts.ledger
    ? ', event_id bigint not null, channel text not null default \'appio\', next_attempt_at bigint not null default 0, address text, provider_id text, route_index integer not null default 0, finished_at bigint'
    : '';
  try {
    await pool.query(`create table ${t} (id bigserial primary key, data jsonb not null, state text not null default 'pending', updated_at timestamptz not null default now()${ledger})`);
    await pool.query(`create index ${t}_due on ${t} (id) where state = 'pending'`);
    if (opts.ledger && !opts.ledgerIndexes?.length) throw new Error('lean outbox: the ledger variant needs Ponte\'s index definitions (ledgerIndexes)');
    for (const sql of opts.ledger ? onTable(t, opts.ledgerIndexes!) : []) await pool.query(sql);
    if (opts.attempts) {
      await pool.query(`create table ${t}_attempts (id bigserial primary key, delivery_id bigint not null references ${t} (id), kind text not null, started_at bigint not null, duration_ms integer not null, outcome text not null, http_status integer, error text)`);
      await pool.query(`create index ${t}_attempts_delivery on ${t}_attempts (delivery_id)`);
    }
    await pool.query(`insert into ${t} (data${opts.ledger ? ', event_id' : ''}) select jsonb_build_object('i', g)${opts.ledger ? ', g' : ''} from generate_series(0, $1::int - 1) g`, [opts.n]);
    await pool.query(`analyze ${t}`);
  } catch (e) {
    await drop();
    throw e;
  }
  const claim = `update ${t} set state = 'claimed', updated_at = now() where id = any(array(select id from ${t} where state = 'pending' order by id limit $1 for update skip locked)) returning id, data`;
  const sending = `update ${t} set state = 'sending', updated_at = now() where id = any($1::bigint[])`;
  const setDone = `update ${t} set state = 'accepted', updated_at = now()${opts.ledger ? ', provider_id = p.pid' : ''} from unnest($1::bigint[], $2::text[]) as p(id, pid) where ${t}.id = p.id`;
  // The attempts rows ride with the completion in one statement, as Ponte's group commit carries them.
  const complete = opts.attempts
    ? `with a as (insert into ${t}_attempts (delivery_id, kind, started_at, duration_ms, outcome, http_status) select id, 'send', $3, 0, 'accepted', 201 from unnest($1::bigint[]) as x(id)) ${setDone}`
    : setDone;
  return {
    async run(send) {
      const limit = pLimit(opts.concurrency);
      let done = 0;
      const t0 = performance.now();
      await Promise.all(Array.from({ length: opts.loops }, async () => {
        for (;;) {
          const { rows } = await pool.query<{ id: string; data: { i: number } }>({ name: `${t}_claim`, text: claim, values: [opts.batch] });
          if (rows.length === 0) return;
          const ids = rows.map((r) => r.id);
          const pids: string[] = [];
          const wave = opts.wave ?? rows.length;
          for (let w = 0; w < rows.length; w += wave) {
            const part = rows.slice(w, w + wave);
            if (opts.sending) await pool.query({ name: `${t}_sending`, text: sending, values: [part.map((r) => r.id)] });
            pids.push(...await Promise.all(part.map((r) => limit(() => send.post(r.data.i)))));
          }
          await pool.query({ name: `${t}_complete`, text: complete, values: opts.attempts ? [ids, pids, Date.now()] : [ids, pids] });
          done += rows.length;
        }
      }));
      return { perSec: (done / (performance.now() - t0)) * 1000, done };
    },
    drop,
  };
}
