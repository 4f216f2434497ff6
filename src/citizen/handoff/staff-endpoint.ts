// Reaching staff: the configured HTTP endpoint (e.g. a Chatwoot agent-bot bridge) receives the
// conversation when the citizen asks for a person, then every message they write while a person
// has it. The endpoint is trusted and configured, so it gets the phone number in clear; the
// Bearer token comes only from the environment variable the config names.
import axios from 'axios';
import type { Logger } from 'pino';
import { phoneRef } from '../../channels/whatsapp/privacy.js';

export interface StaffMessage {
  id: string;
  text: string | null;
  type: string;
  at: number;
}

/** What Ponte posts: a new hand-off with the recent messages, or one more message from the citizen. */
export interface StaffEvent {
  event: 'handoff' | 'message';
  conversation: { phone: string; state: string; officeOpen: boolean };
  messages: StaffMessage[];
}

export interface StaffEndpointOptions {
  url: string;
  tokenEnv: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  log?: Logger;
}

export class StaffEndpoint {
  constructor(private readonly opts: StaffEndpointOptions) {}

  /** The token, or an error naming the variable (never a value). */
  token(): string {
    const t = (this.opts.env ?? process.env)[this.opts.tokenEnv];
    if (!t) throw new Error(`hand-off: the staff endpoint token is missing: set environment variable ${this.opts.tokenEnv}`);
    return t;
  }

  /** Posts one event; failures are logged (the citizen is still waiting for a person) and returned as false. */
  async post(e: StaffEvent): Promise<boolean> {
    try {
      const res = await axios.post(this.opts.url, e, {
        headers: { Authorization: `Bearer ${this.token()}`, 'Content-Type': 'application/json' },
        timeout: this.opts.timeoutMs ?? 10_000,
        // A redirect would take the conversation (a 307 re-sends the body) where the config never
        // said, and a 302 to a login page would look like a hand-off taken: only a 2xx counts.
        maxRedirects: 0,
        validateStatus: () => true,
      });
      if (res.status >= 200 && res.status < 300) return true;
      this.opts.log?.warn({ status: res.status, to: phoneRef(e.conversation.phone), event: e.event }, 'hand-off: the staff endpoint refused the conversation');
    } catch (err) {
      this.opts.log?.warn({ err: err instanceof Error ? err.message : String(err), to: phoneRef(e.conversation.phone), event: e.event }, 'hand-off: the staff endpoint cannot be reached');
    }
    return false;
  }
}
