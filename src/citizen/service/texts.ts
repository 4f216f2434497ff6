// The bot's fixed texts (texts: in config/citizen-service.yaml) and the {{placeholders}} each may
// use. A placeholder a text may not use is a config error, not a "{{topik}}" sent to a citizen.

/** Every fixed text, with the placeholders it may contain. */
export const TEXT_PLACEHOLDERS = {
  /** Free text that matched nothing. */
  unknownInput: [],
  /** Under a menu in clients that cannot show interactive messages ("Rispondi con la lettera…"). */
  choosePrompt: [],
  subscribed: ['topic', 'keyword'],
  unsubscribed: ['topic', 'keyword'],
  alreadySubscribed: ['topic', 'keyword'],
  notSubscribed: ['topic', 'keyword'],
  /** "ISCRIVIMI XYZ" with an unknown topic; {{topics}} = the keywords there are. */
  unknownTopic: ['keyword', 'topics'],
  /** Body and list button of the topics menu. */
  topicsBody: [],
  topicsButton: [],
  /** State shown before a topic's description in the topics menu. */
  topicOn: [],
  topicOff: [],
  /** The "rather not say" option of a profile question, and the thanks after an answer. */
  profileSkip: [],
  profileSaved: [],
  /** Titles of the navigation buttons under an answer. */
  back: [],
  home: [],
  /** Before the list of what we hold about the citizen ({{data}}). */
  mydata: ['data'],
  eraseConfirm: [],
  eraseYes: [],
  eraseNo: [],
  erased: [],
  /** Handing over to staff during office hours; {{link}} = handoff.link when there is one. */
  handoffOpen: ['link'],
  /** The staff endpoint could not take the conversation: the citizen stays with the bot. */
  handoffUnavailable: ['link'],
  /** Staff closed the conversation (POST /staff/close): the bot answers again. */
  handoffClosed: [],
  /** Back to the bot after an idle timeout. */
  sessionExpired: [],
} as const satisfies Record<string, readonly string[]>;

export type TextKey = keyof typeof TEXT_PLACEHOLDERS;

/**
 * Texts added after a service file may already have been written: a default keeps those files
 * valid (every other text must be in the file, so that the municipality has read what is sent).
 */
export const TEXT_DEFAULTS: Partial<Record<TextKey, string>> = {
  handoffUnavailable: 'In questo momento non riesco a passarti a un operatore, scusa. Puoi usare la chat sul sito {{link}} o riprovare più tardi scrivendo OPERATORE.',
  handoffClosed: 'La conversazione con l\'operatore è terminata. Grazie! Se ti serve altro scrivi MENU.',
};
export type Texts = Record<TextKey, string>;

const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;

/** The placeholder names used in `text`. */
export function placeholders(text: string): string[] {
  return [...text.matchAll(PLACEHOLDER)].map((m) => m[1]!);
}

/** Problems with the placeholders of `text`, given the names it may use. */
export function placeholderProblem(text: string, allowed: readonly string[]): string | null {
  const bad = placeholders(text).filter((p) => !allowed.includes(p));
  if (bad.length === 0) return null;
  const may = allowed.length ? `allowed here: ${allowed.map((a) => `{{${a}}}`).join(', ')}` : 'this text takes none';
  return `unknown placeholder ${bad.map((b) => `{{${b}}}`).join(', ')} (${may})`;
}

/** Replaces {{name}} with values[name]; a name without a value becomes "". */
export function fill(text: string, values: Record<string, string>): string {
  return text.replace(PLACEHOLDER, (_, name: string) => values[name] ?? '');
}
