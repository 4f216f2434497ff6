// Sending the engine's replies through the WhatsApp channel, one message type each, in order
// (the menu must arrive after the welcome text).
import type { WhatsappChannel } from '../../channels/whatsapp/channel.js';
import type { OutboundMessage } from './engine.js';

export type SendOutbound = (toE164: string, message: OutboundMessage) => Promise<string>;

export function channelSender(channel: Pick<WhatsappChannel, 'sendText' | 'sendInteractive' | 'sendMedia'>): SendOutbound {
  return (to, m) => {
    switch (m.type) {
      case 'text':
        return channel.sendText(to, m.text.body, { paced: false });
      case 'interactive':
        return channel.sendInteractive(to, m.interactive);
      case 'image':
        return channel.sendMedia(to, 'image', m.image);
      case 'document':
        return channel.sendMedia(to, 'document', m.document);
    }
  };
}
