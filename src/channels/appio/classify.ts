// How an IO failure is classed for the dispatcher. The line that matters is "did IO maybe create
// the message?": resending then could put a second copy in the citizen's inbox (IO has no
// idempotency key, appio.md §3), so such failures are 'uncertain', never retried blindly.
import type { ErrorClass } from '../channel.js';

/** The IO calls the channel makes. Only `send` (POST /messages) changes anything at IO. */
export type IoCall = 'profile' | 'send' | 'status';

/** The class of an HTTP status that is not the call's success (nor a profile's 404). */
export function classifyStatus(call: IoCall, status: number): ErrorClass {
  // APIM's rate limit rejects before IO's handlers run: nothing happened, try again later.
  if (status === 429) return 'transient';
  // A missing or revoked subscription key fails every call of the service: stop and alert.
  if (status === 401) return 'halt';
  // Bad payload, recipient forbidden, not found ...: the same request will fail the same way.
  if (status >= 400 && status < 500) return 'permanent';
  // Reads change nothing: any server-side failure is worth another try.
  if (call !== 'send') return 'transient';
  // IO's CreateMessage queues processing only as its last step, so its own 500 delivered nothing.
  if (status === 500) return 'transient';
  // 502/503/504 come from the gateways in front of IO, which may have passed the request on;
  // any other status is unexpected. Either way the message may exist.
  return 'uncertain';
}

/** Errors raised before a connection exists: the request cannot have reached IO. */
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * The class of a failure without an HTTP response (timeout, reset, DNS ...).
 * `sent`: the whole request had been written to the socket before the failure.
 */
export function classifyNetwork(call: IoCall, code: string | undefined, sent: boolean): ErrorClass {
  if (call !== 'send') return 'transient';
  if (code !== undefined && NOT_CONNECTED.has(code)) return 'transient';
  // A request not fully written cannot have been processed; a written one may have been.
  return sent ? 'uncertain' : 'transient';
}
