// Connector runs: a history row per run and the instance's last outcome, for `ponte status`.
import type { Knex } from 'knex';
import { ensureConnectorRow } from './lease.js';

export interface RunTotals {
  rowsRead: number;
  eventsNew: number;
  eventsDuplicate: number;
  cancelled: number;
  rowErrors: number;
}

export async function startRun(knex: Knex, instanceId: string, owner: string, now: number): Promise<number> {
  const [row] = (await knex('connector_runs')
    .insert({ instance_id: instanceId, owner, started_at: now, status: 'running' })
    .returning('id')) as { id: number }[];
  return row!.id;
}

export async function finishRun(knex: Knex, runId: number, instanceId: string, status: 'ok' | 'failed' | 'fenced', totals: RunTotals, error: string | null, now: number): Promise<void> {
  await knex('connector_runs').where({ id: runId }).update({
    finished_at: now,
    status,
    rows_read: totals.rowsRead,
    events_new: totals.eventsNew,
    events_duplicate: totals.eventsDuplicate,
    cancelled: totals.cancelled,
    row_errors: totals.rowErrors,
    error,
  });
  await ensureConnectorRow(knex, instanceId, now);
  await knex('connector_state').where({ instance_id: instanceId })
    .update({ last_run_at: now, last_run_status: status, last_run_error: error, updated_at: now });
}
