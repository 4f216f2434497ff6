// Graph API error answers as the Cloud API sends them (whatsapp.md §3):
// {"error":{"message":"(#130429) Rate limit hit","type":"OAuthException","code":130429,
//  "error_data":{"messaging_product":"whatsapp","details":"…"},"fbtrace_id":"…"}}
import { randomBytes } from 'node:crypto';

interface KnownError {
  title: string;
  details: string;
  /** Meta documents no HTTP status per code: 400 for client errors, 401 for 190, 5xx for server-side codes (§3). */
  http: number;
}

// Titles and details abridged from Meta's error-code page.
const KNOWN: Record<number, KnownError> = {
  1: { title: 'API Unknown', details: 'Invalid request or possible server error.', http: 500 },
  2: { title: 'API Service', details: 'Temporary due to downtime or due to being overloaded.', http: 503 },
  100: { title: 'Invalid parameter', details: 'The request included one or more unsupported or misspelled parameters.', http: 400 },
  190: { title: 'Access token has expired', details: 'Error validating access token.', http: 401 },
  130429: { title: 'Rate limit hit', details: 'Cloud API message throughput has been reached.', http: 400 },
  131000: { title: 'Something went wrong', details: 'Message failed to send due to an unknown error.', http: 500 },
  131008: { title: 'Required parameter is missing', details: 'The request is missing a required parameter.', http: 400 },
  131016: { title: 'Service unavailable', details: 'A service is temporarily unavailable.', http: 503 },
  131026: {
    title: 'Message undeliverable',
    details:
      'Unable to deliver message. Reasons can include: the recipient phone number is not a WhatsApp phone number; the recipient has not accepted the new Terms of Service; the recipient is using an old WhatsApp version.',
    http: 400,
  },
  131047: {
    title: 'Re-engagement message',
    details: 'Message failed to send because more than 24 hours have passed since the customer last replied to this number.',
    http: 400,
  },
  131049: {
    title: 'This message was not delivered to maintain healthy ecosystem engagement.',
    details: 'In order to maintain a healthy ecosystem engagement, the message failed to be delivered.',
    http: 400,
  },
  // The On-Premises API's code for 131047, still seen on older integrations.
  470: {
    title: 'Message failed to send because more than 24 hours have passed since the customer last replied to this number',
    details: 'Message failed to send because more than 24 hours have passed since the customer last replied to this number.',
    http: 400,
  },
  131056: {
    title: '(Business Account, Consumer Account) pair rate limit hit',
    details:
      'Message failed to send because there were too many messages sent from this phone number to the same phone number in a short period of time.',
    http: 400,
  },
  132000: { title: 'Number of parameters does not match the expected number of params', details: 'The number of parameters does not match the template.', http: 400 },
  132001: { title: 'Template name does not exist in the translation', details: 'The template does not exist in the specified language or has not been approved.', http: 400 },
  132018: { title: 'There was an issue with the parameters in your template.', details: 'Param text is not valid.', http: 400 },
};

export interface Reply {
  status: number;
  body?: unknown;
  /** Sent as is instead of JSON (a gateway's HTML page). */
  text?: string;
  headers?: Record<string, string>;
}

/** The error answer for `code`; `details` replaces Meta's generic text when the sandbox knows more. */
export function graphError(code: number, details?: string, httpStatus?: number): Reply {
  const known = KNOWN[code] ?? { title: 'Injected error', details: `Sandbox: error ${code} injected by failNext.`, http: 400 };
  return {
    status: httpStatus ?? known.http,
    body: {
      error: {
        message: `(#${code}) ${known.title}`,
        type: 'OAuthException',
        code,
        error_data: { messaging_product: 'whatsapp', details: details ?? known.details },
        fbtrace_id: fbtraceId(),
      },
    },
  };
}

/** An answer without a Graph error code, as a proxy in front of Meta would give. */
export function codelessError(httpStatus: number): Reply {
  return { status: httpStatus, text: `<html><body><h1>${httpStatus} Server Error</h1></body></html>`, headers: { 'Content-Type': 'text/html' } };
}

/** What a failed status webhook carries in errors[] (whatsapp.md §5). */
export function statusError(code: number): { code: number; title: string; message: string; error_data: { details: string }; href: string } {
  const known = KNOWN[code] ?? { title: `Error ${code}`, details: `Error ${code}.` };
  return {
    code,
    title: known.title,
    message: known.title,
    error_data: { details: known.details },
    href: '/documentation/business-messaging/whatsapp/support/error-codes',
  };
}

function fbtraceId(): string {
  return randomBytes(17).toString('base64url').slice(0, 23);
}
