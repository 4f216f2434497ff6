// The WhatsApp channel: template messages through Meta's Cloud API. See channel.ts.
export {
  GRAPH_URL,
  WhatsappChannel,
  type StoredStatus,
  type WhatsappChannelOptions,
  type WhatsappMessage,
} from './channel.js';
export { META_ERROR_TABLE, classifyCode, classifyNetwork, classifyResponse, pairRetryAfterMs } from './classify.js';
export { PairPacer, type PairClaim } from './pair-pacer.js';
export { maskPhones, phoneRef } from './privacy.js';
export {
  buildTemplate,
  parseMapping,
  templateMappingSchema,
  type TemplateComponent,
  type TemplateMapping,
  type WhatsappTemplate,
} from './template.js';
export {
  parseWebhook,
  verifyHandshake,
  verifySignature,
  type InboundMessage,
  type StatusName,
  type StatusUpdate,
} from './webhook.js';
