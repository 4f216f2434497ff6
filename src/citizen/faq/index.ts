// Answers to free text from config/faq.yaml, by lexical search (Italian stemming, accent folding,
// BM25) rather than a model: loadFaq(file).answer(text) → the entry, its score and whether it is
// safe to send; formatAnswer(entry) → the WhatsApp text.
export { loadFaq, parseFaq, FaqConfigError, DEFAULT_FAQ_FILE } from './load.js';
export { Faq, type FaqHit, type FaqMatch } from './faq.js';
export { formatAnswer } from './format.js';
export { ANSWER_MAX, type FaqEntry, type FaqLink, type FaqFile } from './schema.js';
