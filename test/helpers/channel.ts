// A stand-in IO channel for dispatcher tests: answers every call at once unless a test replaces
// the part it is about (a send held until released, a rate slot handed out by the test …).
import type { Channel, RenderedMessage } from '../../src/channels/channel.js';

export function stubChannel(parts: Partial<Channel<RenderedMessage>> = {}): Channel<RenderedMessage> {
  let n = 0;
  return {
    name: 'appio',
    render: () => ({ language: 'it', subject: 'Promemoria appuntamento', markdown: 'x'.repeat(80) }),
    checkRecipient: async () => ({ ok: true }),
    describeSend: () => ({ method: 'POST', url: 'x', headers: {} }),
    send: async () => ({ providerId: `m${++n}` }),
    status: async () => ({ state: 'processed' }),
    ...parts,
  };
}
