// Claims with a big ledger (issue 6 §6): the dedup ledger is permanent, so after years a store
// holds millions of finished deliveries. A claim must cost what its batch costs, not what the
// ledger weighs; so must the dispatcher's group-committed state writes that follow each claim.
// Baseline: the same claims and writes on a store holding only the due work, in the same run.
//   tsx bench/claim.ts              (10,000,000 finished deliveries; BENCH_QUICK=1: 1,000,000)
import { scratchDb } from '../src/connectors/harness/scratch.js';
import { migrateLatest, storeFromKnex, type Store } from '../src/store/db.js';
import { claimDeliveries } from '../src/store/claim-deliveries.js';
import { DeliveryWriter } from '../src/store/write-deliveries.js';
import { seedDeliveries } from './seed-deliveries.js';
import { fillLedger } from './fill-ledger.js';
import { printTable, round, writeResult } from './report.js';

const QUICK = Boolean(process.env.BENCH_QUICK);
const LEDGER = Number(process.env.BENCH_LEDGER ?? (QUICK ? 1_000_000 : 10_000_000));
const DUE = 5_000;
const BATCH = 200;
const ROUNDS = 200;
/** Transitions per group commit: what a flush carries in the dispatch benchmark (8 rows on average). */
const WRITES = 8;

interface ClaimFigures { p50: number; p95: number; writeP50: number; plan: string }

/**
 * ROUNDS claims of BATCH due deliveries, each followed by one group commit of WRITES `sending`
 * transitions, both timed; then given back (so every round finds the same work).
 */
async function measureClaims(store: Store): Promise<ClaimFigures> {
  const times: number[] = [];
  const writes: number[] = [];
  const writer = new DeliveryWriter(store);
  const now = Date.now();
  for (let i = 0; i < ROUNDS; i++) {
    const t0 = performance.now();
    const { token, items } = await claimDeliveries(store, { limit: BATCH, leaseMs: 60_000, now });
    times.push(performance.now() - t0);
    if (items.length !== BATCH) throw new Error(`claimed ${items.length}, expected ${BATCH}`);
    const t1 = performance.now();
    await Promise.all(items.slice(0, WRITES).map((x) => writer.write(x.delivery.id, token, 'pending', { state: 'sending', attempts: 1, keepLease: true }, now)));
    writes.push(performance.now() - t1);
    await store.knex('deliveries').whereIn('id', items.map((x) => x.delivery.id)).update({ state: 'pending', attempts: 0, lease_token: null, lease_until: null });
  }
  if (writer.stats.commits !== ROUNDS) throw new Error(`${writer.stats.commits} group commits for ${ROUNDS} rounds`);
  times.sort((a, b) => a - b);
  writes.sort((a, b) => a - b);
  const explain = (await store.knex.raw(`explain select id from deliveries where state = 'pending' and next_attempt_at <= ? and (lease_until is null or lease_until < ?) order by next_attempt_at limit ${BATCH}`, [now, now])) as { rows: Array<Record<string, string>> };
  const plan = explain.rows.map((r) => Object.values(r)[0]!).find((l) => /Scan/.test(l))?.trim().replace(/\s+\(cost.*$/, '') ?? '?';
  return { p50: times[Math.floor(ROUNDS / 2)]!, p95: times[Math.floor(ROUNDS * 0.95)]!, writeP50: writes[Math.floor(ROUNDS / 2)]!, plan };
}

async function run(ledger: number): Promise<ClaimFigures & { ledger: number }> {
  const db = await scratchDb('postgres');
  try {
    const store = storeFromKnex(db.knex);
    await migrateLatest(store);
    if (ledger) await fillLedger(db.knex, ledger);
    await seedDeliveries(store, DUE); // also ANALYZE, as autovacuum would
    return { ledger, ...(await measureClaims(store)) };
  } finally {
    await db.destroy();
  }
}

const small = await run(0);
const t0 = performance.now();
const big = await run(LEDGER);
const rows = [small, big].map((r) => ({
  'finished deliveries in the ledger': r.ledger.toLocaleString('en'),
  'due deliveries': DUE,
  'claim p50 (ms)': round(r.p50, 2),
  'claim p95 (ms)': round(r.p95, 2),
  'p50 ÷ empty ledger': round(r.p50 / small.p50, 2),
  [`write of ${WRITES} transitions p50 (ms)`]: round(r.writeP50, 2),
  'write p50 ÷ empty ledger': round(r.writeP50 / small.writeP50, 2),
  'plan of the due-work scan': r.plan,
}));
const title = `Claims of ${BATCH} due deliveries (PostgreSQL), a ${LEDGER.toLocaleString('en')}-row ledger against an empty one; then a group commit of ${WRITES} state changes; target: p50 within 2× of the empty ledger's`;
printTable(title, rows);
writeResult('claim', title, rows, { ledger: LEDGER, due: DUE, batch: BATCH, rounds: ROUNDS, fillSeconds: Math.round((performance.now() - t0) / 1000) });
