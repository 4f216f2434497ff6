// Which channels an event goes to. Issue-2 scope: the first configured step of the instance.
// (Fallback between channels and "all" mode extend this one function.)
import type { DeliverStep } from '../config/schema.js';
import type { NewDelivery } from '../store/commit-batch.js';

export function initialDeliveries(steps: DeliverStep[]): NewDelivery[] {
  const first = steps[0];
  if (!first) return [];
  const { channel, ...options } = first;
  return [{ channel, options }];
}
