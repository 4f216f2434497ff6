// Menus the bot builds from the config rather than reads from it: the topics with the citizen's
// state, one question per profile attribute, the erase confirmation. Their ids start with "sys:".
import { SYSTEM_IDS, type Menu } from './menu.js';
import type { Profile, Topic } from './schema.js';
import type { Texts } from './texts.js';

/** The row description of a topic: its state, then what it is about. */
export function topicDescription(topic: Topic, subscribed: boolean, texts: Pick<Texts, 'topicOn' | 'topicOff'>): string {
  return `${subscribed ? texts.topicOn : texts.topicOff} – ${topic.description}`;
}

/** Every topic; choosing one subscribes to it, or unsubscribes when the citizen already is. */
export function topicsMenu(topics: readonly Topic[], subscribed: ReadonlySet<string>, texts: Texts): Menu {
  return {
    id: 'sys:topics',
    body: texts.topicsBody,
    button: texts.topicsButton,
    options: topics.map((t) => {
      const on = subscribed.has(t.id);
      return {
        id: on ? SYSTEM_IDS.unsubscribe(t.id) : SYSTEM_IDS.subscribe(t.id),
        title: t.title,
        description: topicDescription(t, on, texts),
        keywords: [t.keyword],
        action: on ? { kind: 'unsubscribe', topic: t.id } : { kind: 'subscribe', topic: t.id },
      };
    }),
  };
}

/** The question for one profile attribute, its options and "rather not say" last. */
export function profileMenu(profile: Profile, attribute: string, texts: Texts): Menu {
  const a = profile.attributes[attribute];
  if (!a) throw new Error(`no profile attribute "${attribute}"`);
  return {
    id: `sys:profile:${attribute}`,
    body: a.question,
    ...(a.button !== undefined ? { button: a.button } : {}),
    options: [
      ...a.options.map((o) => ({
        id: SYSTEM_IDS.profile(attribute, o.id),
        title: o.title,
        ...(o.description !== undefined ? { description: o.description } : {}),
        keywords: [],
        action: { kind: 'setProfile' as const, attribute, value: o.id },
      })),
      { id: SYSTEM_IDS.profile(attribute, null), title: texts.profileSkip, keywords: [], action: { kind: 'setProfile', attribute, value: null } },
    ],
  };
}

/** A typed yes: accepts the offer of a person, confirms the erasure ("Sì" there is not ISCRIVIMI's "SI"). */
export const YES_WORDS = ['SI', 'SÌ', 'OK', 'VA BENE', 'CERTO'];
/** A typed no to the erase confirmation. */
export const NO_WORDS = ['NO', 'ANNULLA', 'NO GRAZIE'];

/** "Are you sure?" before erasing the citizen's data: yes / no, tapped or typed. */
export function eraseConfirmMenu(texts: Texts): Menu {
  return {
    id: 'sys:erase',
    body: texts.eraseConfirm,
    options: [
      { id: SYSTEM_IDS.eraseYes, title: texts.eraseYes, keywords: YES_WORDS, action: { kind: 'eraseConfirmed' } },
      { id: SYSTEM_IDS.eraseNo, title: texts.eraseNo, keywords: NO_WORDS, action: { kind: 'home' } },
    ],
  };
}
