// An answer of config/citizen-service.yaml as the messages to send: its media (if any), then its
// text with the links appended, as reply buttons (back / home) when it has them. Each item is the
// type-specific part; the caller adds { messaging_product: 'whatsapp', to }.
import { menuInteractive, type Interactive } from './interactive.js';
import { SYSTEM_IDS, type Menu } from './menu.js';
import type { Answer } from './schema.js';
import type { Texts } from './texts.js';

export type OutboundContent =
  | { type: 'text'; text: { body: string; preview_url: boolean } }
  | { type: 'image'; image: { link?: string; id?: string; caption?: string } }
  | { type: 'document'; document: { link?: string; id?: string; caption?: string; filename?: string } }
  | { type: 'interactive'; interactive: Interactive };

/** The answer's text, then one "Title: URL" line per link. */
export function answerText(answer: Pick<Answer, 'text' | 'links'>): string {
  if (answer.links.length === 0) return answer.text;
  return `${answer.text}\n\n${answer.links.map((l) => `${l.title}: ${l.url}`).join('\n')}`;
}

/** The answer with its buttons as a menu (for match-choice and the renderers), or null without buttons. */
export function answerMenu(answerId: string, answer: Answer, texts: Pick<Texts, 'back' | 'home'>): Menu | null {
  if (answer.buttons.length === 0) return null;
  return {
    id: `sys:answer:${answerId}`,
    body: answerText(answer),
    options: answer.buttons.map((b) =>
      b === 'back'
        ? { id: SYSTEM_IDS.back, title: texts.back, keywords: [], action: { kind: 'back' } }
        : { id: SYSTEM_IDS.home, title: texts.home, keywords: [], action: { kind: 'home' } },
    ),
  };
}

export function answerMessages(answerId: string, answer: Answer, texts: Pick<Texts, 'back' | 'home'>): OutboundContent[] {
  const out: OutboundContent[] = [];
  const m = answer.media;
  if (m) {
    const ref = { ...(m.link !== undefined ? { link: m.link } : {}), ...(m.id !== undefined ? { id: m.id } : {}), ...(m.caption !== undefined ? { caption: m.caption } : {}) };
    out.push(m.type === 'image' ? { type: 'image', image: ref } : { type: 'document', document: { ...ref, ...(m.filename !== undefined ? { filename: m.filename } : {}) } });
  }
  const menu = answerMenu(answerId, answer, texts);
  out.push(menu ? { type: 'interactive', interactive: menuInteractive(menu) } : { type: 'text', text: { body: answerText(answer), preview_url: answer.links.length > 0 } });
  return out;
}
