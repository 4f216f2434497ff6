// `ponte status`'s "why they did not go out" on a big ledger: it must cost the last 7 days'
// rejected/failed/dead deliveries, not the ledger. Measured with the partial index of migration
// 010, then without it (what the same query costs on a ledger with no index for it), and the
// index's build time (what migration 010 takes on a store of that size).
//   tsx bench/status-reasons.ts     (10,000,000 finished deliveries; BENCH_QUICK=1: 1,000,000)
import { scratchDb } from '../src/connectors/harness/scratch.js';
import { migrateLatest, storeFromKnex } from '../src/store/db.js';
import { unsentReasons } from '../src/store/unsent-reasons.js';
import { UNSENT_SQL } from '../migrations/20261205_010_unsent_index.js';
import { fillLedger } from './fill-ledger.js';
import { printTable, round, writeResult } from './report.js';

const QUICK = Boolean(process.env.BENCH_QUICK);
const LEDGER = Number(process.env.BENCH_LEDGER ?? (QUICK ? 1_000_000 : 10_000_000));
/** Recent deliveries that did not go out: a bad week (a WhatsApp broadcast to many numbers not on WhatsApp, an IO outage). */
const RECENT = 5_000;
const ROUNDS = 20;

const db = await scratchDb('postgres');
try {
  const knex = db.knex;
  await migrateLatest(storeFromKnex(knex));
  const t0 = performance.now();
  await fillLedger(knex, LEDGER);
  const now = Date.now();
  // The week's unsent: each reason with its own number, count or id, as the store holds them.
  await knex.raw(`insert into events (dedup_key, instance_id, type, entity, fiscal_code, payload, route, created_at)
    select 'recent:' || g, 'anagrafe', 'broadcast', 'b:' || g, '****************', null, '{"mode":"first","steps":[]}', ${now - 86_400_000}
    from generate_series(1, ${RECENT}) g`);
  await knex.raw(`insert into deliveries (event_id, channel, options, state, attempts, polls, next_attempt_at, created_at, updated_at, finished_at, reason, route_index)
    select e.id, case when e.id % 5 < 3 then 'whatsapp' else 'appio' end, '{}',
           (array['rejected','rejected','rejected','failed','dead'])[1 + e.id % 5], 1, 0, ${now}, ${now}, ${now}, ${now} - (e.id % 6) * 86400000,
           case e.id % 5 when 3 then 'io: FAILED' when 4 then 'gave up after ' || (2 + e.id % 7) || ' attempts: io: POST /messages → 429 too many requests, retry in ' || (e.id % 5000) || ' ms'
                else 'whatsapp: 131026 Message undeliverable for +39********' || lpad((e.id % 100)::text, 2, '0') || ' — the number is not on WhatsApp' end, 0
    from events e where e.dedup_key like 'recent:%'`);
  const fillSeconds = Math.round((performance.now() - t0) / 1000);
  await knex.raw('analyze events, deliveries');

  const measure = async () => {
    const times: number[] = [];
    let groups = 0;
    for (let i = 0; i < ROUNDS; i++) {
      const t = performance.now();
      groups = (await unsentReasons(knex, now)).groups.length;
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    const explain = (await knex.raw(`explain select count(*) from deliveries where ${UNSENT_SQL} and finished_at >= ?`, [now - 7 * 86_400_000])) as { rows: Array<Record<string, string>> };
    const plan = explain.rows.map((r) => Object.values(r)[0]!).find((l) => /Scan/.test(l))?.trim().replace(/\s+\(cost.*$/, '') ?? '?';
    return { p50: times[Math.floor(ROUNDS / 2)]!, max: times.at(-1)!, groups, plan };
  };
  const withIndex = await measure();
  await knex.raw('drop index deliveries_unsent_index');
  await knex.raw('analyze deliveries');
  const without = await measure();
  const tb = performance.now();
  await knex.raw(`create index deliveries_unsent_index on deliveries (finished_at) where ${UNSENT_SQL}`);
  const buildSeconds = round((performance.now() - tb) / 1000, 1);

  const rows = [
    { index: 'deliveries_unsent_index (migration 010)', 'p50 (ms)': round(withIndex.p50, 2), 'max (ms)': round(withIndex.max, 2), groups: withIndex.groups, plan: withIndex.plan },
    { index: 'none', 'p50 (ms)': round(without.p50, 2), 'max (ms)': round(without.max, 2), groups: without.groups, plan: without.plan },
  ];
  const title = `ponte status "why they did not go out" (PostgreSQL): ${LEDGER.toLocaleString('en')} finished deliveries plus ${RECENT.toLocaleString('en')} unsent this week; migration 010's index built in ${buildSeconds} s`;
  printTable(title, rows);
  writeResult('status-reasons', title, rows, { ledger: LEDGER, recent: RECENT, rounds: ROUNDS, buildSeconds, fillSeconds });
} finally {
  await db.destroy();
}
