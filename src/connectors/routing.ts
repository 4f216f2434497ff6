// Who is told where. Each event gets a route when it is stored (mode, ordered channel steps,
// quiet hours), kept on the event so later config changes never re-route work in flight.
// Mode "first" starts with the first channel and falls through to the next one when a channel
// cannot deliver (skipped, or rejected by the provider); mode "all" uses every channel at once.
import type { ConnectorInstanceConfig, RouteConfig } from '../config/schema.js';
import type { NewDelivery } from '../store/commit-batch.js';
import { toE164 } from '../util/phone.js';

export interface RouteStep {
  channel: string;
  options: Record<string, unknown>;
}

export interface StoredRoute {
  mode: 'first' | 'all';
  steps: RouteStep[];
  quietHours?: { from: string; to: string };
}

export function routeFor(settings: Pick<ConnectorInstanceConfig, 'deliver' | 'routes'>, eventType: string): StoredRoute {
  const r: RouteConfig = settings.routes[eventType] ?? settings.deliver;
  return {
    mode: r.mode,
    steps: r.channels.map(({ channel, ...options }) => ({ channel, options })),
    ...(r.quietHours ? { quietHours: r.quietHours } : {}),
  };
}

/** The channel address a delivery is bound to (WhatsApp: the E.164 number), if any. */
export function channelAddress(channel: string, recipient: { phone?: string | undefined }): string | null {
  return channel === 'whatsapp' ? toE164(recipient.phone) : null;
}

export function deliveryAt(route: StoredRoute, index: number, recipient: { phone?: string | undefined }, reason?: string): NewDelivery {
  const step = route.steps[index]!;
  return {
    channel: step.channel,
    options: step.options,
    routeIndex: index,
    address: channelAddress(step.channel, recipient),
    ...(reason ? { reason } : {}),
  };
}

export function initialDeliveries(route: StoredRoute, recipient: { phone?: string | undefined }): NewDelivery[] {
  const indexes = route.mode === 'all' ? route.steps.map((_, i) => i) : [0];
  return indexes.map((i) => deliveryAt(route, i, recipient));
}

/** The next step for a "first" route after the channel at `index` could not deliver. */
export function nextStep(route: StoredRoute, index: number): number | null {
  return route.mode === 'first' && index + 1 < route.steps.length ? index + 1 : null;
}
