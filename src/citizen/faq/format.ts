// An FAQ entry as the WhatsApp text sent back: the answer, a blank line, one "Title: URL" line
// per link. Same layout as the menu answers (src/citizen/service/answer.ts), so citizens see one
// style whether they tapped a menu or wrote a question.
import type { FaqEntry } from './schema.js';

export function formatAnswer(entry: Pick<FaqEntry, 'answer' | 'links'>): string {
  if (entry.links.length === 0) return entry.answer;
  return `${entry.answer}\n\n${entry.links.map((l) => `${l.title}: ${l.url}`).join('\n')}`;
}
