// The delivery state machine. Every transition the code makes is listed here; the store's
// update helpers refuse anything else, so an illegal jump is a bug that shows, not a silent state.
export const DELIVERY_STATES = [
  'pending',    // waiting for its time (next_attempt_at), first try or retry
  'sending',    // the provider request is about to go / in flight: a crash here is 'uncertain'
  'accepted',   // the provider took it (IO 201): polling its final status
  'processed',  // delivered to the citizen's inbox (IO PROCESSED)
  'rejected',   // the provider refused it after acceptance (IO REJECTED)
  'failed',     // permanent error (bad payload, render error, provider FAILED)
  'skipped',    // not eligible on this channel (no IO profile, sender_allowed=false)
  'cancelled',  // the back-office withdrew it (cancelled, rescheduled, revoked) or an operator did
  'expired',    // its expiry passed before it could go out
  'dead',       // transient errors exhausted the retry budget (attempts or age)
  'uncertain',  // a send may or may not have reached the provider: held for an operator
] as const;

export type DeliveryState = (typeof DELIVERY_STATES)[number];

export const TERMINAL_STATES: readonly DeliveryState[] = ['processed', 'rejected', 'failed', 'skipped', 'cancelled', 'expired', 'dead'];

/** States the dispatcher claims when due. */
export const CLAIMABLE_STATES: readonly DeliveryState[] = ['pending', 'accepted'];

const allowed: Record<DeliveryState, readonly DeliveryState[]> = {
  pending: ['sending', 'accepted', 'skipped', 'failed', 'cancelled', 'expired', 'dead', 'pending'], // → accepted: onUncertain resend writes no `sending`
  sending: ['accepted', 'pending', 'failed', 'dead', 'uncertain', 'expired'],
  accepted: ['processed', 'rejected', 'failed', 'accepted'],
  uncertain: ['pending', 'cancelled', 'accepted', 'processed'], // operator: resend, drop, or confirm
  processed: [],
  rejected: [],
  failed: ['pending'], // operator replay
  skipped: ['pending'],
  cancelled: [],
  expired: [],
  dead: ['pending'],
};

export function canTransition(from: DeliveryState, to: DeliveryState): boolean {
  return allowed[from].includes(to);
}
