// The citizens' WhatsApp service, one inbound message at a time: keywords first (plain STOP
// never needs the session), then a choice on the menu last shown, then the FAQ. Returns the
// messages to send back (the caller sends them after answering the webhook) and the events for
// staff; stores everything that must not be lost (the message, consent proof, session) before.
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { normaliseKeyword } from '../../consent/keywords.js';
import { replyText } from '../../consent/handle-inbound.js';
import { phoneRef } from '../../channels/whatsapp/privacy.js';
import { recordConsent } from '../../store/consent.js';
import { getSession, saveSession, type CitizenSession, type HandoffState } from '../../store/citizen-sessions.js';
import { changeTopic, subscribedTopics } from '../../store/topic-subscriptions.js';
import { setProfileAttribute } from '../../store/citizen-profiles.js';
import { citizenData, eraseCitizen } from '../../store/citizen-data.js';
import { queueReplies } from '../../store/reply-outbox.js';
import {
  answerMenu,
  answerMessages,
  eraseConfirmMenu,
  fill,
  formatOpening,
  isOpen,
  matchChoice,
  menuInteractive,
  nextOpening,
  profileMenu,
  SYSTEM_IDS,
  topicsMenu,
  type CitizenService,
  type Menu,
  type MenuAction,
  type OutboundContent,
} from '../service/index.js';
import { formatAnswer, type Faq } from '../faq/index.js';
import type { StaffEvent } from '../handoff/staff-endpoint.js';
import { readKeyword, YES_WORDS, type KeywordLists } from './keywords.js';
import { describeData } from './my-data.js';

export type OutboundMessage = OutboundContent;

export interface CitizenInbound {
  /** The citizen's wamid: dedup key and consent proof. */
  id: string;
  fromE164: string;
  type: string;
  /** Typed text, or the title of a tapped row/button. */
  text?: string | undefined;
  /** Id of the tapped row/button (interactive) or quick-reply payload (button). */
  replyId?: string | undefined;
}

export interface ConversationDeps {
  knex: Knex;
  service: CitizenService;
  faq?: Faq | null;
  /** optOut/optIn/privacy from channels.whatsapp.keywords; the entry words come from the service. */
  keywords: Omit<KeywordLists, 'entry'>;
  /** Reply to a plain STOP / ISCRIVIMI (channels.whatsapp.replies). */
  replies: { optIn: string; optOut: string };
  /** Whether a staff endpoint is configured (else hand-off gives the link only). */
  staffEndpoint: boolean;
  log: Logger;
  now?: () => number;
}

export interface ConversationOutcome {
  duplicate: boolean;
  /** What the message was handled as (stored in inbound_messages.handled_as). */
  handledAs: string;
  messages: OutboundMessage[];
  /** For the staff endpoint, to post after the webhook is answered. */
  staff: StaffEvent[];
  /** Pending deliveries cancelled by an opt-out. */
  cancelled: number;
}

interface Pending {
  /** Menu to go back to from an answer's "Indietro". */
  back?: string;
  /** The bot was not sure of a FAQ answer and offered a person. */
  operatorOffer?: boolean;
}

const RECENT_FOR_STAFF = 10;
const HUMAN_STATES: readonly HandoffState[] = ['waiting_human', 'human'];

const text: (body: string) => OutboundMessage = replyText;
const interactive = (menu: Menu): OutboundMessage => ({ type: 'interactive', interactive: menuInteractive(menu) });

/**
 * One citizen message, stored (its id is the key Meta's retries are recognised by) in one
 * transaction with everything it changes — consent, subscriptions, session: a process killed in
 * between leaves neither, so the retry is handled afresh, never found "already seen" with its STOP
 * not applied. Replies are queued in the reply outbox in the same transaction and sent after it.
 */
export function handleCitizenMessage(msg: CitizenInbound, deps: ConversationDeps): Promise<ConversationOutcome> {
  return deps.knex.transaction(async (trx) => {
    const out = await handleMessage(msg, { ...deps, knex: trx });
    // The answer is queued with what it answers: a kill before it is sent leaves it to the outbox sweep.
    await queueReplies(trx, msg.id, msg.fromE164, out.messages, deps.now?.() ?? Date.now());
    return out;
  });
}

/**
 * The staff endpoint did not take a hand-off (down, refused, no token). The citizen, about to be
 * told a person would answer, would wait for no one: the conversation goes back to the bot, and
 * the answer still waiting in the outbox ("Ti metto in contatto…") becomes one saying so, with the
 * office's link. If that answer already went out (the outbox sweep took it meanwhile), the notice
 * is queued after it. Returns the inbound id whose replies to send; null when the conversation has
 * moved on meanwhile.
 */
export function handoffNotTaken(knex: Knex, service: CitizenService, event: StaffEvent, now: number): Promise<{ inboundId: string } | null> {
  const phone = event.conversation.phone;
  const asked = event.messages.at(-1)?.id ?? 'handoff';
  const notice = text(fill(service.texts.handoffUnavailable, { link: service.handoff.link ?? '' }));
  return knex.transaction(async (trx) => {
    if ((await getSession(trx, phone))?.handoff !== 'waiting_human') return null;
    await saveSession(trx, phone, { handoff: 'bot', handoffAt: now }, now);
    const rewritten = await trx('reply_outbox').where({ inbound_id: asked, phone, state: 'pending' }).update({ message: JSON.stringify(notice) });
    if (rewritten > 0) return { inboundId: asked };
    await queueReplies(trx, `${asked}:not-taken`, phone, [notice], now);
    return { inboundId: `${asked}:not-taken` };
  });
}

async function handleMessage(msg: CitizenInbound, deps: ConversationDeps): Promise<ConversationOutcome> {
  const now = deps.now?.() ?? Date.now();
  const { knex, service } = deps;
  const phone = msg.fromE164;
  const log = deps.log.child({ citizen: phoneRef(phone) });
  const inserted = (await knex('inbound_messages')
    .insert({ id: msg.id, phone, type: msg.type, text: msg.text ?? null, handled_as: 'citizen-service', received_at: now })
    .onConflict('id').ignore()
    .returning('id')) as unknown[];
  if (inserted.length === 0) return { duplicate: true, handledAs: 'duplicate', messages: [], staff: [], cancelled: 0 };

  const out: ConversationOutcome = { duplicate: false, handledAs: 'unknown', messages: [], staff: [], cancelled: 0 };
  const session = await getSession(knex, phone);
  const expired = session?.lastInboundAt != null && now - session.lastInboundAt > service.idleTimeoutMinutes * 60_000;
  // Every message reopens the 24-hour window; the rest of the session is saved by the handlers.
  await saveSession(knex, phone, { lastInboundAt: now }, now);
  const ctx = new Turn(msg, deps, out, session, expired, now, log);
  await ctx.run();
  await knex('inbound_messages').where({ id: msg.id }).update({ handled_as: out.handledAs.slice(0, 40) });
  log.info({ handledAs: out.handledAs, replies: out.messages.length, staff: out.staff.length, cancelled: out.cancelled }, 'citizen message handled');
  return out;
}

/** One inbound message being handled. */
class Turn {
  private readonly service: CitizenService;
  private readonly knex: Knex;
  private readonly phone: string;
  private readonly pending: Pending;
  private readonly handoff: HandoffState;

  constructor(
    private readonly msg: CitizenInbound,
    private readonly deps: ConversationDeps,
    private readonly out: ConversationOutcome,
    private readonly session: CitizenSession | null,
    private readonly expired: boolean,
    private readonly now: number,
    private readonly log: Logger,
  ) {
    this.service = deps.service;
    this.knex = deps.knex;
    this.phone = msg.fromE164;
    this.pending = expired ? {} : ((session?.pending as Pending | null) ?? {});
    this.handoff = session?.handoff ?? 'bot';
  }

  async run(): Promise<void> {
    const kw = this.msg.type === 'interactive' ? null : readKeyword(this.msg.text, { ...this.deps.keywords, entry: this.service.entryKeywords }, this.service.topics);
    // (a) Plain STOP ends everything, whatever the state of the conversation.
    if (kw?.kind === 'stopAll') return this.stopAll();
    const menu = await this.currentMenu();
    const chosen = matchChoice(menu, { type: this.msg.type, ...(this.msg.text !== undefined ? { text: this.msg.text } : {}), ...(this.msg.replyId !== undefined ? { replyId: this.msg.replyId } : {}) }, { knownIds: this.knownIds() });
    if (HUMAN_STATES.includes(this.handoff)) return this.withPerson(kw, menu, chosen);
    // An answer to the question shown wins over the consent words it resembles: "Sì" (or "Sì,
    // cancella") to "Vuoi davvero cancellare…?" erases; ISCRIVIMI's "SI" would record a consent.
    if (chosen !== null && menu.id === 'sys:erase' && await this.choose(chosen, menu)) return;
    if (kw?.kind === 'topic') return this.topicKeyword(kw.action, kw.topic, kw.word);
    // "Sì" right after the offer of a person accepts it (before "SI" is read as the reminders opt-in).
    if (this.pending.operatorOffer && this.msg.text && YES_WORDS.some((w) => normaliseKeyword(w) === normaliseKeyword(this.msg.text!))) {
      return this.act({ kind: 'operator' }, 'operator-offer');
    }
    if (kw) {
      switch (kw.kind) {
        case 'optInAll':
          return this.optInAll();
        case 'privacy':
          return this.act({ kind: 'privacy' }, 'keyword:privacy');
        case 'mydata':
          return this.act({ kind: 'mydata' }, 'keyword:mydata');
        case 'erase':
          return this.act({ kind: 'erase' }, 'keyword:erase');
        case 'operator':
          return this.act({ kind: 'operator' }, 'keyword:operator');
        case 'entry':
          this.out.messages.push(text(this.service.welcome));
          return this.act({ kind: 'home' }, 'entry');
      }
    }
    // (b) A choice on the menu last shown (an expired session is read against the home menu).
    if (chosen !== null && await this.choose(chosen, menu)) return;
    // (c) Free text: the FAQ when it is sure, else the home menu and the offer of a person.
    const hit = this.msg.text ? this.deps.faq?.answer(this.msg.text) : null;
    if (hit?.confident) {
      this.out.messages.push(text(formatAnswer(hit.entry)));
      this.out.handledAs = `faq:${hit.entry.id}`;
      await this.save({ pending: null });
      return;
    }
    if (this.expired) this.out.messages.push(text(this.service.texts.sessionExpired));
    this.out.messages.push(text(this.service.texts.unknownInput));
    await this.showMenu(this.homeMenu());
    await this.save({ pending: { operatorOffer: true } });
    this.out.handledAs = hit ? `faq-unsure:${hit.entry.id}` : 'unknown';
  }

  /** Acts on a chosen option; false when the id leads nowhere (an option since removed). */
  private async choose(id: string, menu: Menu): Promise<boolean> {
    const action = await this.actionOf(id, menu);
    if (!action) return false;
    await this.act(action, `choice:${id}`);
    return true;
  }

  /**
   * While a person has (or is about to have) the conversation the bot is silent and the message
   * goes to staff, except for what is the citizen's right whoever answers: their data (I MIEI
   * DATI, PRIVACY, CANCELLA I MIEI DATI and its confirmation) and a topic's STOP/ISCRIVIMI. Still
   * waiting for a person, MENU (an entry word) takes the citizen back to the bot; staff are told.
   */
  private async withPerson(kw: ReturnType<typeof readKeyword>, menu: Menu, chosen: string | null): Promise<void> {
    if (chosen !== null && menu.id === 'sys:erase') {
      await this.choose(chosen, menu);
      return;
    }
    switch (kw?.kind) {
      case 'topic':
        return this.topicKeyword(kw.action, kw.topic, kw.word);
      case 'privacy':
      case 'mydata':
      case 'erase':
        return this.act({ kind: kw.kind }, `keyword:${kw.kind}`);
      case 'entry':
        if (this.handoff !== 'waiting_human') break;
        await this.forwardToStaff('bot');
        await this.save({ handoff: 'bot', handoffAt: this.now });
        this.out.messages.push(text(this.service.welcome));
        return this.act({ kind: 'home' }, 'entry:left-waiting');
    }
    return this.forwardToStaff();
  }

  // ---- keywords

  private async stopAll(): Promise<void> {
    const { cancelled } = await recordConsent(this.knex, { phone: this.phone, action: 'opt_out', source: 'whatsapp-keyword', text: this.msg.text ?? null, at: this.now });
    this.out.cancelled += cancelled;
    await this.proveGlobal();
    for (const topic of [...(await subscribedTopics(this.knex, this.phone))].sort()) {
      this.out.cancelled += (await this.changeTopic(topic, 'opt_out', 'whatsapp-keyword')).cancelled;
    }
    this.out.messages.push(text(this.deps.replies.optOut));
    this.out.handledAs = 'opt_out';
  }

  private async optInAll(): Promise<void> {
    const notice = await this.noticeIfFirst();
    await recordConsent(this.knex, { phone: this.phone, action: 'opt_in', source: 'whatsapp-keyword', text: this.msg.text ?? null, at: this.now });
    await this.proveGlobal();
    this.out.messages.push(text(this.deps.replies.optIn), ...notice);
    this.out.handledAs = 'opt_in';
  }

  /**
   * The privacy notice, when this is the citizen's first opt-in under its version: it goes with
   * the confirmation, so the version each consent row records is one the citizen was shown.
   * (An erasure deletes the opt-in rows: after it, the next opt-in shows the notice again.)
   */
  private async noticeIfFirst(): Promise<OutboundMessage[]> {
    const shown = await this.knex('consent_events').where({ phone: this.phone, action: 'opt_in', privacy_version: this.service.privacy.version }).first('id');
    return shown ? [] : [text(this.service.privacy.text)];
  }

  /** recordConsent writes the plain row of a global change; the proof columns are added here. */
  private async proveGlobal(): Promise<void> {
    await this.knex('consent_events').where({ phone: this.phone, at: this.now, source: 'whatsapp-keyword' }).whereNull('topic')
      .update({ privacy_version: this.service.privacy.version, proof: this.msg.id });
  }

  private async topicKeyword(action: 'opt_in' | 'opt_out', topic: CitizenService['topics'][number] | null, word: string): Promise<void> {
    if (!topic) {
      this.out.messages.push(text(fill(this.service.texts.unknownTopic, { keyword: word, topics: this.service.topics.map((t) => t.keyword).join(', ') })));
      this.out.handledAs = 'unknown-topic';
      return;
    }
    await this.subscription(topic.id, action, 'whatsapp-keyword');
  }

  // ---- actions

  private async act(action: MenuAction, handledAs: string): Promise<void> {
    this.out.handledAs = handledAs;
    const s = this.service;
    switch (action.kind) {
      case 'home':
        return this.showMenu(this.homeMenu());
      case 'menu': {
        const m = s.menus[action.menu];
        return m ? this.showMenu(m) : this.showMenu(this.homeMenu());
      }
      case 'back': {
        const back = this.pending.back;
        const m = back ? await this.menuById(back) : null;
        return this.showMenu(m ?? this.homeMenu());
      }
      case 'answer': {
        const a = s.answers[action.answer];
        if (!a) return this.showMenu(this.homeMenu());
        this.out.messages.push(...answerMessages(action.answer, a, s.texts));
        const m = answerMenu(action.answer, a, s.texts);
        // The answer's back button returns to the menu it was chosen from.
        if (m) await this.save({ menu: m.id, pending: { back: this.session?.menu ?? 'home' } });
        return;
      }
      case 'subscribe':
        return this.subscription(action.topic, 'opt_in', 'whatsapp-menu');
      case 'unsubscribe':
        return this.subscription(action.topic, 'opt_out', 'whatsapp-menu');
      case 'topics':
        return this.showMenu(topicsMenu(s.topics, await subscribedTopics(this.knex, this.phone), s.texts));
      case 'profile': {
        const first = s.profile ? Object.keys(s.profile.attributes)[0] : undefined;
        if (!s.profile || first === undefined) return this.showMenu(this.homeMenu());
        this.out.messages.push(text(s.profile.why));
        return this.showMenu(profileMenu(s.profile, first, s.texts));
      }
      case 'setProfile': {
        await setProfileAttribute(this.knex, this.phone, action.attribute, action.value, this.now);
        const names = Object.keys(s.profile?.attributes ?? {});
        const next = names[names.indexOf(action.attribute) + 1];
        if (s.profile && next !== undefined) return this.showMenu(profileMenu(s.profile, next, s.texts));
        this.out.messages.push(text(s.texts.profileSaved));
        await this.save({ menu: 'home', pending: null });
        return;
      }
      case 'privacy':
        this.out.messages.push(text(s.privacy.text));
        return;
      case 'mydata': {
        const data = await citizenData(this.knex, this.phone);
        this.out.messages.push(text(fill(s.texts.mydata, { data: describeData(data, s, this.phone) })));
        return;
      }
      case 'erase':
        return this.showMenu(eraseConfirmMenu(s.texts));
      case 'eraseConfirmed': {
        const r = await eraseCitizen(this.knex, this.phone, { source: 'erasure', text: this.msg.text ?? null, privacyVersion: s.privacy.version, proof: this.msg.id, at: this.now });
        this.out.cancelled += r.cancelled;
        this.out.messages.push(text(s.texts.erased));
        return;
      }
      case 'operator':
        return this.startHandoff();
    }
  }

  private async subscription(topicId: string, action: 'opt_in' | 'opt_out', source: string): Promise<void> {
    const topic = this.service.topics.find((t) => t.id === topicId);
    if (!topic) throw new Error(`citizen service: unknown topic "${topicId}"`);
    const vars = { topic: topic.title, keyword: topic.keyword };
    const on = (await subscribedTopics(this.knex, this.phone)).has(topicId);
    this.out.handledAs = `${action}:${topicId}`;
    if (on === (action === 'opt_in')) {
      this.out.messages.push(text(fill(on ? this.service.texts.alreadySubscribed : this.service.texts.notSubscribed, vars)));
      return;
    }
    const notice = action === 'opt_in' ? await this.noticeIfFirst() : [];
    this.out.cancelled += (await this.changeTopic(topicId, action, source)).cancelled;
    this.out.messages.push(text(fill(action === 'opt_in' ? this.service.texts.subscribed : this.service.texts.unsubscribed, vars)), ...notice);
  }

  private changeTopic(topic: string, action: 'opt_in' | 'opt_out', source: string) {
    return changeTopic(this.knex, {
      phone: this.phone, topic, action, source, text: this.msg.text ?? null,
      privacyVersion: this.service.privacy.version, proof: this.msg.id, at: this.now,
    });
  }

  // ---- hand-off

  private async startHandoff(): Promise<void> {
    const h = this.service.handoff;
    const open = isOpen(h.officeHours, new Date(this.now));
    const link = h.link ?? '';
    if (!this.deps.staffEndpoint) {
      // Link only: the citizen continues on the web chat; the bot stays.
      this.out.messages.push(text(fill(this.service.texts.handoffOpen, { link })));
      this.out.handledAs = 'operator:link';
      return;
    }
    await this.save({ handoff: 'waiting_human', handoffAt: this.now, pending: null, menu: null });
    const next = nextOpening(h.officeHours, new Date(this.now));
    this.out.messages.push(text(open || next === null
      ? fill(this.service.texts.handoffOpen, { link })
      : fill(h.closedText, { next: formatOpening(next, new Date(this.now), h.officeHours.zone) })));
    const recent = (await this.knex('inbound_messages').where({ phone: this.phone }).orderBy('received_at', 'desc').limit(RECENT_FOR_STAFF)
      .select('id', 'type', 'text', 'received_at')) as Array<{ id: string; type: string; text: string | null; received_at: number | string }>;
    this.out.staff.push({
      event: 'handoff',
      conversation: { phone: this.phone, state: 'waiting_human', officeOpen: open },
      messages: recent.reverse().map((r) => ({ id: r.id, type: r.type, text: r.text, at: Number(r.received_at) })),
    });
    this.out.handledAs = 'operator';
  }

  /** The message to staff; `state` when it changes the conversation's (the citizen left the wait). */
  private async forwardToStaff(state: HandoffState = this.handoff): Promise<void> {
    this.out.handledAs = `staff:${this.handoff}`;
    if (!this.deps.staffEndpoint) return;
    this.out.staff.push({
      event: 'message',
      conversation: { phone: this.phone, state, officeOpen: isOpen(this.service.handoff.officeHours, new Date(this.now)) },
      messages: [{ id: this.msg.id, type: this.msg.type, text: this.msg.text ?? null, at: this.now }],
    });
  }

  // ---- menus

  private homeMenu(): Menu {
    return this.service.menus.home!;
  }

  private async showMenu(menu: Menu): Promise<void> {
    this.out.messages.push(interactive(menu));
    await this.save({ menu: menu.id, pending: null });
  }

  /** The menu last shown, rebuilt; home when there is none or the session expired. */
  private async currentMenu(): Promise<Menu> {
    const id = this.expired ? null : this.session?.menu;
    return (id ? await this.menuById(id) : null) ?? this.homeMenu();
  }

  private async menuById(id: string): Promise<Menu | null> {
    const s = this.service;
    if (s.menus[id]) return s.menus[id]!;
    if (id === 'sys:topics') return topicsMenu(s.topics, await subscribedTopics(this.knex, this.phone), s.texts);
    if (id === 'sys:erase') return eraseConfirmMenu(s.texts);
    if (id.startsWith('sys:profile:') && s.profile) {
      const attr = id.slice('sys:profile:'.length);
      return s.profile.attributes[attr] ? profileMenu(s.profile, attr, s.texts) : null;
    }
    if (id.startsWith('sys:answer:')) {
      const a = s.answers[id.slice('sys:answer:'.length)];
      return a ? answerMenu(id.slice('sys:answer:'.length), a, s.texts) : null;
    }
    return null;
  }

  /** Every id a tap may carry: config options and the ids of the menus the bot builds. */
  private knownIds(): Set<string> {
    const s = this.service;
    const ids = new Set<string>([SYSTEM_IDS.back, SYSTEM_IDS.home, SYSTEM_IDS.eraseYes, SYSTEM_IDS.eraseNo]);
    for (const m of Object.values(s.menus)) for (const o of m.options) ids.add(o.id);
    for (const t of s.topics) {
      ids.add(SYSTEM_IDS.subscribe(t.id));
      ids.add(SYSTEM_IDS.unsubscribe(t.id));
    }
    for (const [attr, a] of Object.entries(s.profile?.attributes ?? {})) {
      ids.add(SYSTEM_IDS.profile(attr, null));
      for (const o of a.options) ids.add(SYSTEM_IDS.profile(attr, o.id));
    }
    return ids;
  }

  /** The action of a chosen id: from the menu shown, a config menu, or a system id. */
  private async actionOf(id: string, shown: Menu): Promise<MenuAction | null> {
    const found = shown.options.find((o) => o.id === id) ?? Object.values(this.service.menus).flatMap((m) => m.options).find((o) => o.id === id);
    if (found) return found.action;
    if (id === SYSTEM_IDS.back) return { kind: 'back' };
    if (id === SYSTEM_IDS.home || id === SYSTEM_IDS.eraseNo) return { kind: 'home' };
    if (id === SYSTEM_IDS.eraseYes) return { kind: 'eraseConfirmed' };
    let m = /^sys:sub:(.+)$/.exec(id);
    if (m) return { kind: 'subscribe', topic: m[1]! };
    m = /^sys:unsub:(.+)$/.exec(id);
    if (m) return { kind: 'unsubscribe', topic: m[1]! };
    m = /^sys:profile:([^:]+):(.+)$/.exec(id);
    if (m) return { kind: 'setProfile', attribute: m[1]!, value: m[2] === '-' ? null : m[2]! };
    return null;
  }

  private save(patch: Parameters<typeof saveSession>[2]): Promise<void> {
    return saveSession(this.knex, this.phone, patch, this.now);
  }
}
