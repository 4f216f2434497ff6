// A ledger as years of service leave it, for the benchmarks that must not grow with it (claims,
// `ponte status`): PostgreSQL only, filled by generate_series in steps of a million rows.
import type { Knex } from 'knex';

/** `rows` finished deliveries as years of service leave them (purged events, final states), plus reminders due next month. */
export async function fillLedger(knex: Knex, rows: number): Promise<void> {
  const step = 1_000_000;
  const old = Date.now() - 400 * 86_400_000;
  for (let from = 1; from <= rows; from += step) {
    const to = Math.min(rows, from + step - 1);
    await knex.raw(`insert into events (dedup_key, instance_id, type, entity, fiscal_code, payload, route, created_at)
      select 'old:' || g, 'anagrafe', 'appointment.reminder', 'appointment:' || g, '****************', null,
             '{"mode":"first","steps":[{"channel":"appio","options":{"service":"anagrafe"}}]}', ${old} + g
      from generate_series(?::bigint, ?::bigint) g`, [from, to]);
    // One delivery per event, in every final state; a tenth are reminders due in a month (pending, not due).
    await knex.raw(`insert into deliveries (event_id, channel, options, state, attempts, polls, next_attempt_at, created_at, updated_at, finished_at, provider_id, route_index)
      select e.id, 'appio', '{}',
             case when e.id % 10 = 0 then 'pending' else (array['processed','processed','processed','skipped','cancelled','expired','rejected','failed','dead'])[1 + e.id % 9] end,
             1, 2, case when e.id % 10 = 0 then ${Date.now() + 30 * 86_400_000} else ${old} end + e.id, ${old}, ${old},
             case when e.id % 10 = 0 then null else ${old} end, '01HX' || e.id, 0
      from events e where e.id between ? and ?`, [from, to]);
    process.stderr.write(`\r  ledger ${to.toLocaleString('en')} / ${rows.toLocaleString('en')} rows`);
  }
  process.stderr.write('\n');
}
