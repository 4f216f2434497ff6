// The conversation engine of the citizens' WhatsApp service and what it needs to run.
export { handleCitizenMessage, handoffNotTaken, type CitizenInbound, type ConversationDeps, type ConversationOutcome, type OutboundMessage } from './engine.js';
export { readKeyword, type KeywordCommand } from './keywords.js';
export { describeData } from './my-data.js';
export { channelSender, type SendOutbound } from './send.js';
