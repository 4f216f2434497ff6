// Routing "first": when a channel cannot deliver (skipped, rejected), the next channel of the
// event's route gets a delivery — in the same transaction as the outcome, so a crash can
// neither lose the fallback nor create it twice. The decision is recorded as the new delivery's reason.
import type { Knex } from 'knex';
import type { ClaimedDelivery } from './rows.js';
import { updateDelivery, type DeliveryPatch } from './update-delivery.js';
import type { DeliveryState } from './states.js';
import { deliveryRow } from './commit-batch.js';
import { deliveryAt, nextStep } from '../connectors/routing.js';

export async function finishAndFallBack(
  knex: Knex, item: ClaimedDelivery, token: string, from: DeliveryState, patch: DeliveryPatch & { reason: string }, now: number,
): Promise<{ nextChannel: string | null }> {
  const next = nextStep(item.route, item.delivery.route_index);
  if (next === null) {
    await updateDelivery(knex, item.delivery.id, token, from, patch, now);
    return { nextChannel: null };
  }
  const recipient = { ...(item.event.phone ? { phone: item.event.phone } : {}) };
  const nd = deliveryAt(item.route, next, recipient, `${patch.reason} → ${item.route.steps[next]!.channel}`);
  await knex.transaction(async (trx) => {
    await updateDelivery(trx, item.delivery.id, token, from, patch, now);
    await trx('deliveries').insert(deliveryRow(item.event.id, nd, now, now)).onConflict(['event_id', 'channel']).ignore();
  });
  return { nextChannel: nd.channel };
}
