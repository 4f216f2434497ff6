// The IO renderer the AppIO channel is given: event type templates → message → IO's rules.
import type { EventTypeSpec } from '../connectors/contract.js';
import type { DeliveryContext, RenderedMessage } from '../channels/channel.js';
import { renderMessage } from '../messages/render.js';
import { checkIoMessage } from '../messages/io-rules.js';

export type TemplateLookup = (eventType: string) => EventTypeSpec | undefined;

export function ioRenderer(templates: TemplateLookup, timeZone: string) {
  return (ctx: DeliveryContext, language?: string): RenderedMessage => {
    const spec = templates(ctx.event.type);
    if (!spec) throw new Error(`no templates for event type "${ctx.event.type}"`);
    const message = renderMessage(spec, ctx.event.data, language, { eventType: ctx.event.type, timeZone });
    const personalValues = (spec.personalFields ?? [])
      .map((f) => ctx.event.data[f])
      .filter((v): v is string | number => typeof v === 'string' || typeof v === 'number')
      .map(String);
    // The recipient's fiscal code needs no entry here: any fiscal-code-shaped token is already refused.
    const violations = checkIoMessage(message, { personalValues });
    if (violations.length) throw new Error(`message breaks IO rules: ${violations.join('; ')}`);
    return message;
  };
}
