// The AppIO channel: messages to the citizen's IO app. See channel.ts.
export { AppioChannel, IO_DEFAULT_LIMIT, type AppioChannelOptions, type OwnerLimit } from './channel.js';
export { classifyNetwork, classifyStatus, type IoCall } from './classify.js';
export { fiscalCodeRef, maskFiscalCodes } from './privacy.js';
