// What the fake Cloud API remembers: accepted messages, customer service windows opened by
// citizens' messages, the last send per recipient (pair rate limit) and the number's throughput.
import { randomBytes } from 'node:crypto';
import type { CloudMessage, SendRequest } from './payload.js';

/** An accepted message, as the judges see it. */
export interface SandboxSend {
  wamid: string;
  /** E.164 with "+", as sent. */
  to: string;
  /** The real message type. Interactive and media messages also get a one-line `text` summary. */
  type: CloudMessage['type'];
  /** The `interactive` object exactly as sent (type interactive). */
  interactive?: Extract<CloudMessage, { type: 'interactive' }>['interactive'];
  /** The media object exactly as sent (type image or document). */
  media?: { link?: string; id?: string; caption?: string; filename?: string };
  /** Template name, language and each component's parameters as text (media as link or id). */
  template?: { name: string; language: string; header: string[]; body: string[]; buttons: string[] };
  text?: string;
  /** biz_opaque_callback_data, echoed in the status webhooks. */
  opaque?: string;
  at: number;
}

const WINDOW_MS = 24 * 3600 * 1000;

/** A wamid-like id: "wamid." and base64, as Meta's. */
export function wamid(): string {
  return `wamid.${randomBytes(30).toString('base64')}`;
}

export class WhatsappState {
  readonly sends: SandboxSend[] = [];
  /** Customer service window end per E.164 number. */
  private readonly windows = new Map<string, number>();
  private readonly lastSend = new Map<string, number>();

  /** A citizen's message opens (or resets) the 24 h window; our own sends never do. */
  openWindow(e164: string, now = Date.now()): void {
    this.windows.set(e164, now + WINDOW_MS);
  }

  windowOpen(e164: string, now = Date.now()): boolean {
    return (this.windows.get(e164) ?? 0) > now;
  }

  /** How much too early a send to `e164` is under a pair limit of `limitMs` (0: fine). */
  pairWaitMs(e164: string, limitMs: number, now = Date.now()): number {
    const last = this.lastSend.get(e164);
    return last === undefined ? 0 : Math.max(0, last + limitMs - now);
  }

  /** `request` is the message as state records it (interactive/media summarised as text); `message` the real one. */
  accept(request: SendRequest, now = Date.now(), message?: CloudMessage): SandboxSend {
    const send: SandboxSend = { wamid: wamid(), to: request.to, type: message?.type ?? request.type, at: now };
    if (message?.type === 'interactive') send.interactive = message.interactive;
    if (message?.type === 'image') send.media = message.image;
    if (message?.type === 'document') send.media = message.document;
    if (request.biz_opaque_callback_data !== undefined) send.opaque = request.biz_opaque_callback_data;
    if (request.type === 'text') send.text = request.text.body;
    else {
      const t = request.template;
      const params = (type: string) =>
        (t.components ?? []).filter((c) => c.type === type).flatMap((c) => c.parameters.map(paramText));
      send.template = { name: t.name, language: t.language.code, header: params('header'), body: params('body'), buttons: params('button') };
    }
    this.sends.push(send);
    this.lastSend.set(request.to, now);
    return send;
  }
}

type Parameter = NonNullable<Extract<SendRequest, { type: 'template' }>['template']['components']>[number]['parameters'][number];

function paramText(p: Parameter): string {
  switch (p.type) {
    case 'text':
      return p.text;
    case 'payload':
      return p.payload;
    case 'currency':
      return p.currency.fallback_value;
    case 'date_time':
      return p.date_time.fallback_value;
    case 'image':
      return p.image.link ?? p.image.id ?? '';
    case 'video':
      return p.video.link ?? p.video.id ?? '';
    case 'document':
      return p.document.link ?? p.document.id ?? '';
  }
}

/** The number's messages per second: a sliding window over accepted requests, and its peak. */
export class Throughput {
  private readonly recent: number[] = [];
  /** The most requests let through within any 1 s window: the judge's number. */
  maxInAnyWindow = 0;
  accepted = 0;
  /** Requests refused with 130429 because the limit was really exceeded. */
  limited = 0;

  constructor(private readonly perSecond = Infinity) {}

  /** Counts the request and returns true if it may proceed. */
  admit(now = Date.now()): boolean {
    while (this.recent.length > 0 && this.recent[0]! <= now - 1000) this.recent.shift();
    if (this.recent.length >= this.perSecond) {
      this.limited++;
      return false;
    }
    this.recent.push(now);
    this.accepted++;
    this.maxInAnyWindow = Math.max(this.maxInAnyWindow, this.recent.length);
    return true;
  }
}
