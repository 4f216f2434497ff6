// Staff's side of the hand-off on Ponte's HTTP server: POST /staff/reply {phone, text} sends a
// staff reply as free-form text while the citizen's 24-hour window is open (409 outside it: only
// an approved template may go then) to a citizen who asked for a person; POST /staff/close {phone}
// gives the conversation back to the bot and tells the citizen so. Both need the Bearer token of the staff endpoint (the env variable the config names).
import { timingSafeEqual } from 'node:crypto';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { Handler, Reply } from '../../server/http-server.js';
import { getSession, saveSession } from '../../store/citizen-sessions.js';
import { phoneRef } from '../../channels/whatsapp/privacy.js';
import { toE164 } from '../../util/phone.js';

export const WINDOW_MS = 24 * 3600 * 1000;

export interface StaffRoutesDeps {
  knex: Knex;
  tokenEnv: string;
  env?: NodeJS.ProcessEnv;
  log: Logger;
  /** Sends a free-form text to the citizen; returns the wamid. */
  sendText: (toE164: string, text: string) => Promise<string>;
  /** Sent to the citizen when staff close the conversation (texts.handoffClosed). */
  closedNotice?: string;
  now?: () => number;
}

/**
 * A token this short could be guessed over the network (the routes answer any number of tries):
 * 24 characters of `openssl rand -hex 32` are 96 bits. A shorter one disables the routes, said in
 * the answer and once in the log, rather than leaving a citizen's conversation guessable.
 */
export const MIN_STAFF_TOKEN_CHARS = 24;

function authorised(header: string | undefined, token: string): boolean {
  if (!header?.startsWith('Bearer ')) return false;
  const given = Buffer.from(header.slice('Bearer '.length));
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function readJson(raw: Buffer): Record<string, unknown> | null {
  try {
    const v = JSON.parse(raw.toString('utf8')) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

export function staffRoutes(deps: StaffRoutesDeps): Record<string, Handler> {
  const log = deps.log.child({ routes: 'staff' });
  let saidShort = false;
  const guard = (handle: (body: Record<string, unknown>, phone: string) => Promise<Reply>): Handler => async (req, url, raw) => {
    const token = (deps.env ?? process.env)[deps.tokenEnv];
    if (!token) return { status: 503, body: { error: `staff replies are disabled: set environment variable ${deps.tokenEnv}` } };
    if (token.length < MIN_STAFF_TOKEN_CHARS) {
      const error = `staff replies are disabled: the token in environment variable ${deps.tokenEnv} has ${token.length} characters, at least ${MIN_STAFF_TOKEN_CHARS} are needed (e.g. \`openssl rand -hex 32\`)`;
      if (!saidShort) log.error(error);
      saidShort = true;
      return { status: 503, body: { error } };
    }
    if (!authorised(req.headers.authorization, token)) {
      // Visible to whoever watches the logs: someone guessing the token, or staff's system with an old one.
      log.warn({ path: url.pathname, bearer: Boolean(req.headers.authorization) }, 'staff route refused: missing or wrong Bearer token');
      return { status: 401, body: { error: 'missing or wrong Bearer token' } };
    }
    const body = readJson(raw);
    if (!body) return { status: 400, body: { error: 'body must be a JSON object' } };
    const phone = typeof body.phone === 'string' ? toE164(body.phone, 'IT') : null;
    if (!phone) return { status: 400, body: { error: 'phone: required, a phone number (E.164, e.g. +393471234567)' } };
    return handle(body, phone);
  };
  return {
    'POST /staff/reply': guard(async (body, phone) => {
      const text = typeof body.text === 'string' ? body.text.trim() : '';
      if (text === '' || text.length > 4096) return { status: 400, body: { error: 'text: required, 1..4096 characters' } };
      const now = deps.now?.() ?? Date.now();
      const session = await getSession(deps.knex, phone);
      if (!session?.lastInboundAt || now - session.lastInboundAt >= WINDOW_MS) {
        return { status: 409, body: { error: 'the citizen has not written in the last 24 hours: a free-form reply is not allowed, send an approved template instead' } };
      }
      // Staff write to citizens who asked for a person, not to whoever wrote to the bot (nor to
      // one who has since erased their data: the erasure deletes the conversation).
      if (session.handoff === 'bot') {
        return { status: 409, body: { error: 'this citizen has not asked for a person (the bot has the conversation): staff reply only after OPERATORE' } };
      }
      let wamid: string;
      try {
        wamid = await deps.sendText(phone, text);
      } catch (e) {
        log.warn({ to: phoneRef(phone), err: e instanceof Error ? e.message : String(e) }, 'staff reply not sent');
        return { status: 502, body: { error: `WhatsApp did not take the message: ${e instanceof Error ? e.message : String(e)}` } };
      }
      if (session.handoff !== 'human') await saveSession(deps.knex, phone, { handoff: 'human', handoffAt: now }, now);
      log.info({ to: phoneRef(phone) }, 'staff reply sent');
      return { status: 200, body: { wamid } };
    }),
    'POST /staff/close': guard(async (_body, phone) => {
      const now = deps.now?.() ?? Date.now();
      const session = await getSession(deps.knex, phone);
      if (!session) return { status: 404, body: { error: 'no conversation with this number' } };
      await saveSession(deps.knex, phone, { handoff: 'closed', handoffAt: now, menu: null, pending: null }, now);
      log.info({ to: phoneRef(phone) }, 'hand-off closed: the bot answers again');
      // Told, so the citizen does not keep writing to a person who has gone (inside the 24-hour
      // window only: outside it only a template may go).
      let notified = false;
      if (deps.closedNotice && session.handoff !== 'closed' && session.lastInboundAt && now - session.lastInboundAt < WINDOW_MS) {
        notified = await deps.sendText(phone, deps.closedNotice).then(() => true, (e: unknown) => {
          log.warn({ to: phoneRef(phone), err: e instanceof Error ? e.message : String(e) }, 'the citizen could not be told the conversation was closed');
          return false;
        });
      }
      return { status: 200, body: { handoff: 'closed', notified } };
    }),
  };
}
