// Row shapes as stored, and their mapping to the objects the dispatcher works with.
import type { DeliveryState } from './states.js';
import type { StoredRoute } from '../connectors/routing.js';

export interface EventRow {
  id: number;
  dedup_key: string;
  instance_id: string;
  type: string;
  entity: string | null;
  fiscal_code: string;
  phone: string | null;
  language: string | null;
  payload: string | null;
  not_before: number | null;
  expires_at: number | null;
  route: string | null;
  created_at: number;
}

export interface DeliveryRow {
  id: number;
  event_id: number;
  channel: string;
  options: string | null;
  state: DeliveryState;
  attempts: number;
  polls: number;
  next_attempt_at: number;
  route_index: number;
  address: string | null;
  lease_token: string | null;
  lease_until: number | null;
  provider_id: string | null;
  reason: string | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
  sent_at: number | null;
  finished_at: number | null;
}

/** A claimed delivery with its event, ready for the dispatcher. */
export interface ClaimedDelivery {
  delivery: DeliveryRow;
  event: EventRow;
  options: Record<string, unknown>;
  data: Record<string, unknown>;
  route: StoredRoute;
}

/** The event's stored route; events stored before routing existed had just their one channel. */
export function parseRoute(event: EventRow, delivery: DeliveryRow, options: Record<string, unknown>): StoredRoute {
  if (event.route) return JSON.parse(event.route) as StoredRoute;
  return { mode: 'first', steps: [{ channel: delivery.channel, options }] };
}

export function parseJson(text: string | null, what: string): Record<string, unknown> {
  if (text == null || text === '') return {};
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new Error(`store: ${what} is not valid JSON`);
  }
}
