// The local WhatsApp sandbox: a faithful fake of Meta's Cloud API and its webhooks. See server.ts.
export {
  startWhatsappSandbox,
  type InboundOptions,
  type RecordedRequest,
  type WhatsappSandbox,
  type WhatsappSandboxOptions,
} from './server.js';
export { metaJson } from './envelope.js';
export type { FailOptions, FaultKind } from './faults.js';
export type { SandboxSend } from './state.js';
export type { SignatureMode, WebhookDelivery, WebhookKind } from './webhooks.js';
