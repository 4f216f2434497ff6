// Wiring shared by the AppIO channel tests: a sandbox with two services of one owner, and a
// channel pointed at it with keys from a private env.
import type { DeliveryContext, RenderedMessage } from '../../../src/channels/channel.js';
import { AppioChannel, type AppioChannelOptions } from '../../../src/channels/appio/index.js';
import type { IoSandboxOptions } from '../../../src/sandbox/io/index.js';
import { MARKDOWN, SUBJECT } from '../../sandbox/fixtures.js';

export const ENV = { IO_KEY_ANAGRAFE: 'secret-key-anagrafe', IO_KEY_TRIBUTI: 'secret-key-tributi' };

export const SANDBOX_KEYS: IoSandboxOptions['keys'] = {
  [ENV.IO_KEY_ANAGRAFE]: { service: 'anagrafe', owner: 'comune' },
  [ENV.IO_KEY_TRIBUTI]: { service: 'tributi', owner: 'comune' },
};

export function renderFixed(_ctx: DeliveryContext, language?: string): RenderedMessage {
  return { subject: SUBJECT, markdown: MARKDOWN, language: language ?? 'it' };
}

export function makeChannel(baseUrl: string, over: Partial<AppioChannelOptions> = {}): AppioChannel {
  return new AppioChannel({
    baseUrl,
    services: {
      anagrafe: { keyEnv: 'IO_KEY_ANAGRAFE', owner: 'comune' },
      tributi: { keyEnv: 'IO_KEY_TRIBUTI', owner: 'comune' },
    },
    defaultService: 'anagrafe',
    render: renderFixed,
    env: ENV,
    ...over,
  });
}

export function delivery(
  fiscalCode: string,
  options: Record<string, unknown> = {},
  data: Record<string, unknown> = {},
): DeliveryContext {
  return {
    deliveryId: 1,
    attempt: 1,
    event: { id: 1, key: 'ev-1', type: 'appointment.reminder', recipient: { fiscalCode }, data },
    options,
  };
}
