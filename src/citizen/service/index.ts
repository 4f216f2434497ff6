// The citizens' WhatsApp service as data: config schema and loader, menus as Cloud API payloads
// or plain text, and reading back which option a citizen chose. The conversation engine uses these.
export { parseCitizenService, loadCitizenService, CitizenServiceConfigError, DEFAULT_CITIZEN_SERVICE_FILE, type LoadedCitizenService } from './load.js';
export type { CitizenService, Topic, Profile, ProfileAttribute, Answer, AnswerMedia, Handoff } from './schema.js';
export { SYSTEM_IDS, type Menu, type MenuOption, type MenuAction } from './menu.js';
export { LIMITS, menuKind, menuProblems } from './limits.js';
export { menuInteractive, menuPlainText, LETTERS, type Interactive, type InteractiveButton, type InteractiveList } from './interactive.js';
export { answerMessages, answerMenu, answerText, type OutboundContent } from './answer.js';
export { topicsMenu, profileMenu, eraseConfirmMenu, YES_WORDS, NO_WORDS } from './system-menus.js';
export { matchChoice, type InboundChoice, type MatchOptions } from './match-choice.js';
export { isOpen, nextOpening, formatOpening, type OfficeHours } from './office-hours.js';
export { fill, TEXT_PLACEHOLDERS, type Texts, type TextKey } from './texts.js';
