// What the dispatcher does with one claimed delivery: a first send (pending) or a status poll
// (accepted). Every outcome is written through the guarded state machine and the attempts log.
import type { Logger } from 'pino';
import type { Knex } from 'knex';
import { ChannelError, type Channel, type ChannelMessage, type DeliveryContext } from '../channels/channel.js';
import type { DispatcherConfig } from '../config/schema.js';
import type { ClaimedDelivery } from '../store/rows.js';
import { LostLeaseError, type DeliveryPatch } from '../store/update-delivery.js';
import { QueryTimeoutError } from '../store/query-timeout.js';
import type { DeliveryWriter } from '../store/write-deliveries.js';
import type { AttemptLog } from '../store/attempts.js';
import type { DeliveryState } from '../store/states.js';
import { retryDelayMs, statusPollDelayMs } from './backoff.js';
import { quickRetry } from './quick-retry.js';
import { maskText } from '../util/mask.js';
import type { CrashPoint } from '../util/crash-point.js';
import { finishAndFallBack } from '../store/fall-back.js';
import { HALT_RETRY_MS } from '../store/channel-alerts.js';
import { quietUntil } from './quiet-hours.js';
import { recipientRef } from './recipient-ref.js';
import { LazyChild } from '../log/lazy-child.js';
import type { PonteMetrics } from '../metrics/ponte-metrics.js';
import type { ProviderSlots } from './provider-slots.js';
import type { SendJournal } from './send-journal.js';
import type { SendAhead } from './send-ahead.js';

export interface ProcessDeps {
  knex: Knex;
  channel: Channel;
  cfg: DispatcherConfig;
  log: Logger;
  clock: () => number;
  token: string;
  /** Where provider calls are recorded (batched). */
  attempts: AttemptLog;
  /**
   * Where state changes are written (group commit): a worker's outcome and the next `sending`
   * usually arrive in the same turn and share one statement.
   */
  writer: DeliveryWriter;
  /**
   * Outcome writes are handed here instead of awaited, so the worker takes its next delivery while
   * the write joins the next group commit (the dispatcher awaits them all before a pass ends).
   * Only `sending` is awaited: it must be durable before the request leaves.
   */
  /** Records an outcome, retried while the store cannot be reached (the write is called again). */
  defer: (deliveryId: number, write: () => Promise<void>) => void;
  /** Local time zone of quiet hours. */
  timeZone: string;
  crashPoint?: CrashPoint | undefined;
  random?: () => number;
  /** Called when a channel reports a stop-and-alert condition. */
  onHalt?: (channel: string, error: ChannelError) => void;
  /**
   * Why this delivery's channel (or its part) is halted now, if it is: asked again as the send
   * request is about to leave, since another send's halt may have come while this one waited.
   */
  haltedBy?: (ctx: DeliveryContext) => string | undefined;
  /**
   * True once a stop's grace period is over: no request may leave after that. A send prepared
   * ahead (sendAhead) that gets a slot freed by the cut goes back to pending, since this process
   * knows it never left; sent then, it would be cut or left in flight at the exit, and uncertain.
   */
  cutOff?: () => boolean;
  metrics?: PonteMetrics | undefined;
  /** Bounds provider requests in flight (cfg.concurrency) when more deliveries are being worked. */
  providerSlots: ProviderSlots;
  /** Hears the `sending` commits' and send requests' latencies, by which the dispatcher paces its preparing ahead. */
  sendAhead?: SendAhead | undefined;
  /** Records each send request as it leaves, so a kill before it is known not to have sent (send-journal.ts). */
  journal?: SendJournal | undefined;
}

/** What became of a claimed delivery: its new state, 'lost' (claim taken over) or 'held' (channel halted). */
export type Outcome = DeliveryState | 'lost' | 'held';

export function deliveryContext(item: ClaimedDelivery): DeliveryContext {
  const { delivery: d, event: e } = item;
  return {
    deliveryId: d.id,
    attempt: d.attempts + 1,
    event: {
      id: e.id,
      key: e.dedup_key,
      type: e.type,
      recipient: {
        fiscalCode: e.fiscal_code,
        ...(e.phone ? { phone: e.phone } : {}),
        ...(e.language ? { language: e.language } : {}),
      },
      data: item.data,
      ...(e.expires_at != null ? { expiresAt: new Date(e.expires_at) } : {}),
    },
    options: item.options,
  };
}

/** The request never left: the channel was halted (by another send) while this send waited, or a stop's grace period ended. */
class NotSent extends Error {
  constructor(message: string, readonly why: 'halt' | 'stop') { super(message); }
}

function describe(e: unknown): string {
  return maskText(e instanceof Error ? e.message : String(e));
}

export async function processDelivery(item: ClaimedDelivery, deps: ProcessDeps): Promise<Outcome> {
  return item.delivery.state === 'accepted' ? pollStatus(item, deps) : send(item, deps);
}

async function send(item: ClaimedDelivery, deps: ProcessDeps): Promise<Outcome> {
  const { delivery: d, event: e } = item;
  const { channel, cfg, clock } = deps;
  const log = new LazyChild(deps.log, () => ({ delivery: d.id, event: e.dedup_key, channel: channel.name, to: recipientRef(d, e) }));
  const write = (from: DeliveryState, patch: DeliveryPatch): Promise<Outcome> => outcome(deps, d.id, from, patch);

  if (e.expires_at != null && e.expires_at <= clock()) {
    log.info('expired before it could be sent');
    return write('pending', { state: 'expired', reason: `expired at ${new Date(e.expires_at).toISOString()} before it could be sent` });
  }
  // Only takeovers of a lost claim bring a pending delivery here with its budget spent (see
  // countTakeovers): its process stopped while working it, every time; each may have sent a copy.
  if (cfg.onUncertain === 'resend' && d.attempts >= cfg.maxAttempts) {
    log.error({ attempts: d.attempts }, 'dead: the process stopped while working it, each time');
    return write('pending', { state: 'dead', reason: `gave up: the process stopped ${d.attempts} times while working it (onUncertain: resend; it may have gone out up to ${d.attempts} times)` });
  }
  const quiet = item.route.quietHours;
  const until = quiet ? quietUntil(clock(), quiet, deps.timeZone) : null;
  if (quiet && until !== null) {
    const window = `${quiet.from}–${quiet.to}`;
    if (e.expires_at != null && until >= e.expires_at) {
      log.info('expired: quiet hours last past its expiry');
      return write('pending', { state: 'expired', reason: `quiet hours (${window}) end after its expiry (${new Date(e.expires_at).toISOString()})` });
    }
    log.info({ until: new Date(until).toISOString() }, 'deferred by quiet hours');
    return write('pending', { state: 'pending', next_attempt_at: until, reason: `deferred by quiet hours (${window}) until ${new Date(until).toISOString()}` });
  }
  const ctx = deliveryContext(item);
  let state: DeliveryState = 'pending';
  let requested = false; // the send request was made (it may have reached the provider)
  try {
    let message: ChannelMessage = channel.render(ctx, e.language ?? undefined);

    const eligibility = channel.localCheck
      ? await channel.checkRecipient(ctx)
      : await tracked(deps, d.id, 'check', () => channel.checkRecipient(ctx));
    if (!eligibility.ok) {
      const { nextChannel } = await finishAndFallBack(deps.knex, item, deps.token, 'pending', { state: 'skipped', reason: eligibility.reason }, clock());
      log.info({ reason: eligibility.reason, fallback: nextChannel }, nextChannel ? `skipped: falls back to ${nextChannel}` : 'skipped: recipient not reachable on this channel');
      return 'skipped';
    }
    if (!e.language && eligibility.language && eligibility.language !== message.language) {
      message = channel.render(ctx, eligibility.language);
    }

    // The provider's rate slot first, then `sending`: a crash while waiting for the slot leaves the
    // delivery pending (it never left), not uncertain.
    let permit = channel.reserveSend ? await channel.reserveSend(ctx, message) : undefined;
    // `sending` is durable before the request so that a crash makes it uncertain, not resent. With
    // onUncertain 'resend' a crash is to resend it anyway, so the write is skipped (a store round
    // trip less per message), unless less than half the claim's lease is left: the guarded write is
    // then how a process learns another has taken the delivery over, before it sends a copy. (The
    // half left covers the request and its quick retries: 3 × 10 s by default against 60 s.)
    if (cfg.onUncertain === 'hold' || (d.lease_until ?? 0) - clock() < (cfg.leaseSeconds * 1000) / 2) {
      try {
        const t0 = performance.now();
        await deps.writer.write(d.id, deps.token, 'pending', { state: 'sending', attempts: d.attempts + 1, keepLease: true }, clock());
        deps.sendAhead?.committed(performance.now() - t0);
      } catch (e) {
        permit?.release();
        // Cut at store.queryTimeoutSeconds, the write may have committed all the same (its answer
        // lost): the request never left, so it is put back to pending once the store answers,
        // rather than held uncertain when its lease runs out. (Never written: nothing to undo.)
        if (e instanceof QueryTimeoutError) {
          deps.defer(d.id, () => deps.writer.write(d.id, deps.token, 'sending', { state: 'pending', attempts: d.attempts }, clock())
            .catch((u: unknown) => { if (!(u instanceof LostLeaseError)) throw u; }));
        }
        throw e;
      }
      state = 'sending';
    }
    deps.crashPoint?.('before-post');
    // After its `sending` commit the first try is in the burst of every send that commit released.
    const { providerId } = await tracked(deps, d.id, 'send', async () => {
      const p = permit; // the reserved slot serves the first try; quick retries take their own
      permit = undefined;
      // Checked here, as the request leaves: the pass's check came before this send's consent
      // check, rate slot, `sending` commit and wait for a request slot, any of which a halt can outlast.
      const halt = deps.haltedBy?.(ctx);
      const notSent = halt !== undefined ? new NotSent(halt, 'halt') : deps.cutOff?.() ? new NotSent('the stop\'s grace period ended before this send left', 'stop') : undefined;
      if (notSent) {
        p?.release();
        throw notSent;
      }
      if (state === 'sending' && deps.journal) {
        try {
          // Hooked requests: the line goes just before the request's bytes; else with the other lines of this burst.
          await deps.journal.posted(d.id, d.attempts + 1, channel.requestsHooked === true);
        } catch (e) {
          p?.release();
          throw e;
        }
      }
      requested = true;
      return channel.send(ctx, message, p);
    }, state === 'sending');
    deps.crashPoint?.('after-post');
    log.info({ providerId }, 'sent: accepted by the provider');
    return write(state, {
      state: 'accepted', provider_id: providerId, sent_at: clock(), polls: 0, last_error: null, attempts: d.attempts + 1,
      next_attempt_at: clock() + statusPollDelayMs(0, cfg.statusPollSeconds),
    });
  } catch (err) {
    if (err instanceof NotSent) {
      // Not sent (a try before it, if any, failed transiently): pending, no attempt spent if none
      // was made. A halt puts it off like the sends it caught in flight (a resume makes them all due
      // at once); a stop leaves it due at once, for the restart or another process.
      const halted = err.why === 'halt';
      log.warn({ err: err.message }, halted ? 'channel halted before this send left: kept pending' : 'stopping: this send had not left when the grace period ended: kept pending, due at once');
      deps.defer(d.id, () => deps.writer.write(d.id, deps.token, state, {
        state: 'pending', attempts: requested ? d.attempts + 1 : d.attempts, next_attempt_at: clock() + (halted ? HALT_RETRY_MS : 0),
        ...(halted ? { last_error: maskText(err.message) } : {}),
      }, clock()));
      return 'held';
    }
    if (!(err instanceof ChannelError)) throw err;
    const attempts = d.attempts + 1;
    const message = describe(err);
    switch (err.errorClass) {
      case 'permanent':
        log.warn({ err: message }, 'failed permanently');
        // The reason is why it failed: left alone it said why it waited before (a quiet-hours
        // deferral, a fallback's "io: no IO profile → whatsapp"), which is what lists showed.
        return write(state, { state: 'failed', last_error: message, reason: message, attempts });
      case 'uncertain': {
        const confirmed = requested ? await channel.confirmedSend?.(ctx).catch(() => null) : null;
        if (confirmed) {
          log.info({ providerId: confirmed }, 'send outcome was unknown, but the provider already confirmed it');
          return write(state, {
            state: 'accepted', provider_id: confirmed, sent_at: clock(), polls: 0, last_error: message, attempts, reason: 'send confirmed by the provider after an unanswered request',
            next_attempt_at: clock() + statusPollDelayMs(0, cfg.statusPollSeconds),
          });
        }
        if (state === 'sending' && cfg.onUncertain === 'hold') {
          log.warn({ err: message }, 'uncertain: the provider may have received it; held for an operator (never resent silently)');
          return write('sending', { state: 'uncertain', last_error: message, reason: 'send outcome unknown', attempts });
        }
        // Before the send ('pending') nothing can have been delivered: a plain transient error.
        return retryOrGiveUp(item, deps, state, attempts, err, write, log);
      }
      case 'halt':
        deps.onHalt?.(channel.name, err);
        // A halt may stop one part of the channel only (an IO service whose key IO refused).
        log.error({ err: message, ...(err.detail.part ? { part: err.detail.part } : {}) }, err.detail.part ? `${channel.name} ${err.detail.part} halted: its work kept pending` : 'channel halted: work kept pending');
        return write(state, { state: 'pending', last_error: message, next_attempt_at: clock() + HALT_RETRY_MS });
      case 'transient':
      default:
        return retryOrGiveUp(item, deps, state, attempts, err, write, log);
    }
  }
}

async function retryOrGiveUp(
  item: ClaimedDelivery, deps: ProcessDeps, from: DeliveryState, attempts: number, err: ChannelError,
  write: (from: DeliveryState, patch: DeliveryPatch) => Promise<Outcome>, log: LazyChild,
): Promise<Outcome> {
  const { delivery: d, event: e } = item;
  const now = deps.clock();
  const message = describe(err);
  const firstDue = Math.max(d.created_at, e.not_before ?? 0);
  if (attempts >= deps.cfg.maxAttempts || now - firstDue >= deps.cfg.maxAgeHours * 3_600_000) {
    log.error({ attempts, err: message }, 'dead: retry budget exhausted');
    // With the last error: "gave up after 8 attempts" alone does not say what kept failing.
    return write(from, { state: 'dead', attempts, last_error: message, reason: `gave up after ${attempts} attempts: ${message}` });
  }
  const next = now + retryDelayMs(attempts, deps.cfg.backoff, err.detail.retryAfterMs, deps.random);
  if (e.expires_at != null && next >= e.expires_at) {
    log.warn({ err: message }, 'expired: the next retry would fall after the event expiry');
    return write(from, { state: 'expired', attempts, last_error: message, reason: 'the next retry would be after the event expiry' });
  }
  log.warn({ attempts, retryAt: new Date(next).toISOString(), err: message }, 'transient error: retry scheduled');
  return write(from, { state: 'pending', attempts, last_error: message, next_attempt_at: next });
}

async function pollStatus(item: ClaimedDelivery, deps: ProcessDeps): Promise<Outcome> {
  const { delivery: d, event: e } = item;
  const { channel, cfg, clock } = deps;
  const log = new LazyChild(deps.log, () => ({ delivery: d.id, channel: channel.name, to: recipientRef(d, e) }));
  const write = (patch: DeliveryPatch): Promise<Outcome> => outcome(deps, d.id, 'accepted', patch);
  // A 429's retry-after is a floor: the next read is never sooner than the provider asked.
  const again = (lastError: string | null, retryAfterMs = 0) => write({
    state: 'accepted', polls: d.polls + 1, last_error: lastError,
    next_attempt_at: clock() + Math.max(statusPollDelayMs(d.polls + 1, cfg.statusPollSeconds), retryAfterMs),
  });
  const tooOld = clock() - (d.sent_at ?? d.updated_at) > cfg.statusMaxAgeHours * 3_600_000;
  try {
    deps.crashPoint?.('during-status');
    const status = await tracked(deps, d.id, 'status', () => channel.status(deliveryContext(item), d.provider_id ?? ''));
    switch (status.state) {
      case 'processed':
        log.info('processed: in the citizen\'s inbox');
        return write({ state: 'processed' });
      case 'rejected': {
        const { nextChannel } = await finishAndFallBack(deps.knex, item, deps.token, 'accepted', { state: 'rejected', reason: status.reason }, clock());
        log.warn({ reason: status.reason, fallback: nextChannel }, nextChannel ? `rejected by the provider: falls back to ${nextChannel}` : 'rejected by the provider');
        return 'rejected';
      }
      case 'failed':
        log.warn({ reason: status.reason }, 'failed at the provider');
        return write({ state: 'failed', reason: status.reason });
      case 'accepted':
        if (tooOld) return write({ state: 'failed', reason: `no final status after ${cfg.statusMaxAgeHours} h` });
        return again(null);
    }
  } catch (err) {
    if (!(err instanceof ChannelError)) throw err;
    const message = describe(err);
    if (err.errorClass === 'halt') {
      // A refused key fails every read as it would every send: halt, as a send would. Otherwise,
      // with nothing left to send, the reads of a revoked key failed quietly until
      // statusMaxAgeHours ended them 'failed'. The message stays accepted and is read again later.
      deps.onHalt?.(channel.name, err);
      log.error({ err: message, ...(err.detail.part ? { part: err.detail.part } : {}) }, 'status read refused: halted, polling resumes after the fix');
      return write({ state: 'accepted', last_error: message, next_attempt_at: clock() + HALT_RETRY_MS });
    }
    if (err.errorClass === 'permanent' || tooOld) {
      log.warn({ err: message }, 'status unavailable: giving up polling');
      return write({ state: 'failed', last_error: message, reason: 'status could not be read' });
    }
    log.warn({ err: message }, 'status poll failed: will poll again');
    return again(message, err.detail.retryAfterMs);
  }
}

/** Records an outcome: handed to the dispatcher, which awaits it before its pass ends. */
function outcome(deps: ProcessDeps, id: number, from: DeliveryState, patch: DeliveryPatch): Promise<Outcome> {
  deps.defer(id, () => deps.writer.write(id, deps.token, from, patch, deps.clock()));
  return Promise.resolve(patch.state);
}

/** A provider call with quick retries, each try written to the attempts log. */
async function tracked<T>(deps: ProcessDeps, deliveryId: number, kind: 'check' | 'send' | 'status', fn: () => Promise<T>, firstInBurst = false): Promise<T> {
  // Sends are retried in-process only for errors that prove nothing was created (transient).
  let started = deps.clock();
  let t0 = performance.now(); // wall time for metrics: deps.clock may be a test's fake clock
  const result = await quickRetry((retry) => deps.providerSlots.run(async () => {
    started = deps.clock();
    t0 = performance.now();
    return fn();
  }, kind === 'send' ? 'send' : 'other', firstInBurst && !retry), {
    retries: deps.cfg.quickRetries,
    onFailedTry: (e) => {
      if (e instanceof NotSent) return; // no request was made
      const ce = e instanceof ChannelError ? e : undefined;
      const ms = performance.now() - t0;
      if (kind === 'send') deps.sendAhead?.sent(ms);
      deps.metrics?.providerCall(deps.channel.name, kind, ce ? ce.errorClass : 'error', ms, ce?.detail);
      deps.attempts.add({
        deliveryId, kind, startedAt: started, durationMs: deps.clock() - started,
        outcome: ce ? ce.errorClass : 'error',
        ...(ce?.detail.status ? { httpStatus: ce.detail.status } : {}),
        error: describe(e),
      });
    },
  });
  const ms = performance.now() - t0;
  if (kind === 'send') deps.sendAhead?.sent(ms);
  deps.metrics?.providerCall(deps.channel.name, kind, 'ok', ms);
  deps.attempts.add({ deliveryId, kind, startedAt: started, durationMs: deps.clock() - started, outcome: 'ok' });
  return result;
}
