// What the fake IO knows: citizens' profiles and the messages services have created.
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface CitizenOptions {
  /** No IO profile: getProfile 404, messages end REJECTED (USER_NOT_FOUND). */
  notFound?: string[];
  /** The citizen blocked the sender: sender_allowed false, messages end REJECTED. */
  senderNotAllowed?: string[];
  /** Profile looks fine, but processing rejects the message anyway (the check is not atomic). */
  rejectOnProcess?: string[];
  /** Processing keeps failing until IO gives up (poison queue): messages end FAILED. */
  failOnProcess?: string[];
  /** preferred_languages per fiscal code (default ["it_IT"]). */
  languages?: Record<string, string[]>;
}

export type MessageStatus = 'ACCEPTED' | 'PROCESSED' | 'REJECTED' | 'FAILED';

/** A created message, as the judges see it. */
export interface SandboxMessage {
  id: string;
  fiscalCode: string;
  /** The sending service (from the subscription key). */
  service: string;
  owner: string;
  subject: string;
  markdown: string;
  /** The whole `content` as sent (due_date, payment_data ...). */
  content: Record<string, unknown>;
  timeToLive: number;
  featureLevelType: string;
  createdAt: Date;
  status: MessageStatus;
}

export interface LimitedProfile {
  sender_allowed: boolean;
  preferred_languages?: string[];
}

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** A ULID like IO's message ids: 10 characters of millisecond time, 16 of randomness. */
export function ulid(now = Date.now()): string {
  let time = '';
  for (let t = now, i = 0; i < 10; i++, t = Math.floor(t / 32)) time = CROCKFORD[t % 32] + time;
  const bytes = randomBytes(16);
  let rand = '';
  for (const b of bytes) rand += CROCKFORD[b % 32];
  return time + rand;
}

export class IoState {
  private readonly byId = new Map<string, StoredMessage>();
  private readonly notFound: Set<string>;
  private readonly blocked: Set<string>;
  private readonly rejected: Set<string>;
  private readonly failing: Set<string>;

  constructor(
    private readonly citizens: CitizenOptions,
    private readonly processingDelayMs: number,
    /**
     * Where created messages are kept (one JSON line each), so that the embedded sandbox of one
     * command (`ponte dispatch --once`) knows the messages another created: without it the next
     * command's status poll found none and the deliveries ended FAILED "status could not be read".
     */
    private readonly file?: string,
    /**
     * Messages created longer ago than this are forgotten, in memory and in the file (default:
     * never). The embedded sandbox forgets them once Ponte would no longer read their status, so a
     * long run in sandbox mode neither grows with them nor keeps their fiscal codes and texts.
     */
    private readonly forgetAfterMs = Infinity,
  ) {
    this.notFound = new Set(citizens.notFound);
    this.blocked = new Set(citizens.senderNotAllowed);
    this.rejected = new Set(citizens.rejectOnProcess);
    this.failing = new Set(citizens.failOnProcess);
    if (file && existsSync(file)) {
      for (const m of readLines(file)) this.byId.set(m.id, m);
      this.forgetOld(Date.now());
    }
  }

  /** When the old messages were last looked for: at most once a minute, however busy. */
  private forgotAt = 0;

  /**
   * Drops the messages created before `now - forgetAfterMs` and rewrites the file without them
   * (a new file renamed over the old one: a kill leaves one or the other whole). The map keeps
   * creation order, so its first message says whether any is old enough to go. The rewrite starts
   * from the file as it is now, not from this process's memory: another command in sandbox mode
   * may have appended messages to it since this one loaded it, and they must not vanish.
   */
  private forgetOld(now: number): void {
    this.forgotAt = now;
    const cutoff = now - this.forgetAfterMs;
    const oldest = this.byId.values().next().value;
    if (!oldest || oldest.createdAt.getTime() >= cutoff) return;
    const onFile = this.file && existsSync(this.file) ? readLines(this.file).filter((m) => !this.byId.has(m.id)) : [];
    const kept = [...this.byId.values(), ...onFile]
      .filter((m) => m.createdAt.getTime() >= cutoff)
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
    this.byId.clear();
    for (const m of kept) this.byId.set(m.id, m);
    if (!this.file) return;
    const next = `${this.file}.next`;
    writeFileSync(next, kept.map((m) => `${JSON.stringify(m)}\n`).join(''), { mode: 0o600 });
    renameSync(next, this.file);
  }

  /** The profile IO would return, or undefined for "Profile not found". */
  profile(fiscalCode: string): LimitedProfile | undefined {
    if (this.notFound.has(fiscalCode)) return undefined;
    return {
      sender_allowed: !this.blocked.has(fiscalCode),
      preferred_languages: this.citizens.languages?.[fiscalCode] ?? ['it_IT'],
    };
  }

  createMessage(m: Omit<SandboxMessage, 'id' | 'createdAt' | 'status'>, now = Date.now()): SandboxMessage {
    const fc = m.fiscalCode;
    const final: MessageStatus = this.failing.has(fc)
      ? 'FAILED'
      : this.notFound.has(fc) || this.blocked.has(fc) || this.rejected.has(fc)
        ? 'REJECTED'
        : 'PROCESSED';
    if (now - this.forgotAt >= 60_000) this.forgetOld(now);
    const stored = { ...m, id: ulid(now), createdAt: new Date(now), final, doneAt: now + this.processingDelayMs };
    this.byId.set(stored.id, stored);
    if (this.file) {
      mkdirSync(dirname(this.file), { recursive: true });
      appendFileSync(this.file, `${JSON.stringify(stored)}\n`);
    }
    return this.view(stored, now);
  }

  find(id: string, now = Date.now()): SandboxMessage | undefined {
    const stored = this.byId.get(id);
    return stored && this.view(stored, now);
  }

  all(now = Date.now()): SandboxMessage[] {
    return [...this.byId.values()].map((m) => this.view(m, now));
  }

  // Processing is asynchronous at IO: the message stays ACCEPTED until the queue worker is done.
  private view(stored: Omit<SandboxMessage, 'status'> & { final: MessageStatus; doneAt: number }, now: number) {
    const { final, doneAt, ...message } = stored;
    return { ...message, status: now >= doneAt ? final : 'ACCEPTED' } satisfies SandboxMessage;
  }
}

type StoredMessage = Omit<SandboxMessage, 'status'> & { final: MessageStatus; doneAt: number };

/** The messages of a state file, in its order. */
function readLines(file: string): StoredMessage[] {
  const messages: StoredMessage[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      const m = JSON.parse(line) as Omit<StoredMessage, 'createdAt'> & { createdAt: string };
      messages.push({ ...m, createdAt: new Date(m.createdAt) });
    } catch {
      // A line cut by a kill mid-write: that message is simply unknown, as at a fresh start.
    }
  }
  return messages;
}
