// The attempts log: every provider call made for a delivery, for "what happened and why".
import type { Knex } from 'knex';

export interface AttemptRecord {
  deliveryId: number;
  kind: 'check' | 'send' | 'status';
  startedAt: number;
  durationMs: number;
  outcome: string;
  httpStatus?: number;
  error?: string;
}

export async function logAttempt(knex: Knex, a: AttemptRecord): Promise<void> {
  await knex('delivery_attempts').insert({
    delivery_id: a.deliveryId,
    kind: a.kind,
    started_at: a.startedAt,
    duration_ms: Math.round(a.durationMs),
    outcome: a.outcome,
    http_status: a.httpStatus ?? null,
    error: a.error ?? null,
  });
}
