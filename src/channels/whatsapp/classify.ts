// How a Cloud API failure is classed for the dispatcher. Meta asks senders to act on the error
// `code` (plus `details`), not on HTTP statuses or subcodes (whatsapp.md §3), so the table below
// is keyed on codes; HTTP statuses only matter when no code could be read. The Cloud API has no
// idempotency key (§6): whenever Meta may have accepted a send, the class is 'uncertain'.
import type { ErrorClass } from '../channel.js';

interface Row {
  codes: readonly number[];
  errorClass: ErrorClass;
  /** Meta's meaning, abridged, and why this class. */
  why: string;
}

/** whatsapp.md §3, row by row. Codes 200–299 (permissions) are a range, handled below. */
export const META_ERROR_TABLE: readonly Row[] = [
  { codes: [130429], errorClass: 'transient', why: 'throughput reached: slow down, retry' },
  { codes: [131056], errorClass: 'transient', why: 'pair rate limit: retry that recipient after 4^X s' },
  { codes: [4, 80007], errorClass: 'transient', why: 'app or WABA call limit: retry later' },
  { codes: [131000, 1, 2, 131016, 133004], errorClass: 'transient', why: 'unknown error or service down: retry (bounded)' },
  { codes: [131057], errorClass: 'transient', why: 'account in maintenance (≈1 min)' },
  { codes: [131026], errorClass: 'permanent', why: 'undeliverable to this recipient: fall back' },
  { codes: [131047, 470], errorClass: 'permanent', why: 'free-form outside the 24 h window (470: the On-Premises code)' },
  { codes: [131049], errorClass: 'permanent', why: 'marketing per-user limit: no retry within 24 h' },
  { codes: [131050], errorClass: 'permanent', why: 'user stopped marketing messages' },
  { codes: [130403], errorClass: 'permanent', why: 'business blocked this user' },
  { codes: [131051], errorClass: 'permanent', why: 'unsupported message type' },
  { codes: [132000, 132012, 132018], errorClass: 'permanent', why: 'template parameters wrong: config bug' },
  { codes: [132001, 132005, 132007], errorClass: 'permanent', why: 'template missing, too long or rejected: config' },
  { codes: [132015, 132016], errorClass: 'permanent', why: 'template paused or disabled' },
  { codes: [100, 131008, 131009, 131021], errorClass: 'permanent', why: 'invalid or missing parameter: bug' },
  { codes: [190], errorClass: 'halt', why: 'access token expired or invalid' },
  { codes: [0, 3, 10, 131005], errorClass: 'halt', why: 'auth, capability or permission' },
  { codes: [131048], errorClass: 'halt', why: 'spam rate limit: stop bulk sending' },
  { codes: [368, 131031, 130497], errorClass: 'halt', why: 'account restricted or locked' },
  { codes: [131042, 131064], errorClass: 'halt', why: 'payment problem or misclassification limit' },
  { codes: [133010, 131045, 131037], errorClass: 'halt', why: 'number not registered or display name not approved' },
];

/**
 * What a failed message means for the person reading `ponte delivery show`, and what to do:
 * Meta's titles ("Message undeliverable", "Re-engagement message") do not say either.
 */
const OPERATOR_HINTS: Record<number, string> = {
  131026: 'the number is not on WhatsApp, has not accepted WhatsApp\'s current terms, or has a very old app: reach the citizen another way',
  131047: 'more than 24 hours since the citizen last wrote: only an approved template can go out now',
  470: 'more than 24 hours since the citizen last wrote: only an approved template can go out now',
  131049: 'Meta held it back to limit the marketing messages this citizen gets (from any business): do not resend within 24 hours; a UTILITY template is not limited',
  131050: 'the citizen stopped marketing messages from this number in WhatsApp',
  130403: 'this number is blocked in the WhatsApp Business account',
  131051: 'WhatsApp does not support this message type',
  132000: 'the number of parameters differs from the approved template: compare the step\'s body with the template in WhatsApp Manager and channels.whatsapp.templates',
  132001: 'no approved template with this name in this language (misspelt, deleted, not yet approved, or another language code): check WhatsApp Manager',
  132005: 'the text with its parameters is too long for the template',
  132007: 'the template text breaks WhatsApp\'s policy',
  132012: 'a parameter has the wrong format for the template (text, currency, date, media)',
  132015: 'the template is paused for low quality: edit it or wait for Meta to lift the pause',
  132016: 'the template is disabled for low quality: have a new one approved',
  132018: 'a parameter holds a line break, a tab or more than 4 spaces in a row',
};

/** The operator's reading of a Meta code, or undefined for a code without one. */
export function operatorHint(code: number | undefined): string | undefined {
  return code === undefined ? undefined : OPERATOR_HINTS[code];
}

const BY_CODE = new Map<number, ErrorClass>(META_ERROR_TABLE.flatMap((r) => r.codes.map((c) => [c, r.errorClass] as const)));

/** The class Meta's table gives `code`, or undefined for a code not in it. */
export function classifyCode(code: number): ErrorClass | undefined {
  if (code >= 200 && code <= 299) return 'halt'; // permission errors
  return BY_CODE.get(code);
}

/** The class of a non-2xx answer to a send, from its Meta code when there is one. */
export function classifyResponse(httpStatus: number, code: number | undefined): ErrorClass {
  const known = code === undefined ? undefined : classifyCode(code);
  if (known) return known;
  if (httpStatus === 401) return 'halt';
  if (httpStatus === 429) return 'transient';
  // A refusal we cannot read (or a code not in the table): the request was answered, not
  // acted on; sending it again unchanged would be refused again.
  if (httpStatus >= 400 && httpStatus < 500) return 'permanent';
  // A 5xx without a code (a gateway in front of Meta?), or any other status: the message may exist.
  return 'uncertain';
}

/** Errors raised before a connection exists: the request cannot have reached Meta. */
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/** A failure without an HTTP response. `sent`: the whole request had been written first. */
export function classifyNetwork(code: string | undefined, sent: boolean): ErrorClass {
  if (code !== undefined && NOT_CONNECTED.has(code)) return 'transient';
  return sent ? 'uncertain' : 'transient';
}

/** Largest X in Meta's 4^X s back-off for 131056 (4^5 s ≈ 17 min, beyond the 45-message burst penalty). */
const PAIR_BACKOFF_MAX_EXPONENT = 5;

/** Meta's advice for 131056: retry that recipient after 4^X seconds, X = 0, 1, 2 … (attempt 1 → 1 s). */
export function pairRetryAfterMs(attempt: number): number {
  const x = Math.min(Math.max(0, Math.floor(attempt) - 1), PAIR_BACKOFF_MAX_EXPONENT);
  return 4 ** x * 1000;
}
