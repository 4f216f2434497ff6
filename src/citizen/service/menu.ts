// A menu as the bot shows it: from config/citizen-service.yaml, or built by the code (topics with
// the citizen's state, profile questions, confirmations). Routing is by option id, never title.

/** What choosing an option does. The first group can be written in the config; the rest are built by the code. */
export type MenuAction =
  | { kind: 'menu'; menu: string }
  | { kind: 'answer'; answer: string }
  | { kind: 'subscribe'; topic: string }
  | { kind: 'unsubscribe'; topic: string }
  | { kind: 'topics' | 'profile' | 'privacy' | 'mydata' | 'erase' | 'operator' | 'home' }
  /** A profile answer; value null = "rather not say". */
  | { kind: 'setProfile'; attribute: string; value: string | null }
  /** The citizen confirmed erasing their data. */
  | { kind: 'eraseConfirmed' }
  /** Back to the menu shown before the current one. */
  | { kind: 'back' };

/** Action kinds that take no argument, as written in the config (`action: topics`). */
export const BARE_ACTIONS = ['topics', 'profile', 'privacy', 'mydata', 'erase', 'operator', 'home'] as const;

export interface MenuOption {
  /** Stable id (e.g. "info:orari"): what a tap sends back. */
  id: string;
  title: string;
  description?: string;
  /** Other words a citizen may type for this option. */
  keywords: string[];
  action: MenuAction;
}

export interface Menu {
  id: string;
  header?: string;
  body: string;
  footer?: string;
  /** Label of the list button (lists only: menus of 4–10 options). */
  button?: string;
  /** Title of the list's single section, if any. */
  section?: string;
  options: MenuOption[];
}

/** Prefix of the ids the code generates; config ids may not use it. */
export const SYSTEM_ID_PREFIX = 'sys:';

export const SYSTEM_IDS = {
  back: 'sys:back',
  home: 'sys:home',
  eraseYes: 'sys:erase:yes',
  eraseNo: 'sys:erase:no',
  subscribe: (topic: string) => `sys:sub:${topic}`,
  unsubscribe: (topic: string) => `sys:unsub:${topic}`,
  profile: (attribute: string, value: string | null) => `sys:profile:${attribute}:${value ?? '-'}`,
} as const;
