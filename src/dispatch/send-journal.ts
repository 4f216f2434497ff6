// Which `sending` deliveries this process actually sent. A `sending` row says only that a request
// was about to leave; after a SIGKILL it becomes *uncertain*, held for an operator, even when the
// kill came before the request did (between the `sending` commit and the request slot, or while a
// delivery prepared ahead waited for one). Before each request leaves, its delivery id and attempt
// are written to a file of this process's own: a write(2) is in the kernel's page cache when it
// returns, so it survives the process's death (not the machine's). When a process on this machine
// finds the writer gone (dead-processes.ts), a `sending` of its claims that is not in the file
// never left and is sent again; one in the file stays uncertain. No file, or a reboot (the boot id
// changes the host key), and everything stays uncertain, as without the journal.
//
// The file holds only delivery ids, never personal data. It is rewritten with just the requests
// not yet recorded once it passes JOURNAL_ROTATE_BYTES, so it stays small however long the process runs.
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isClaimTag } from '../util/process-identity.js';
import { aliveSocketTag } from '../util/alive-socket.js';
import { beforeRequestBytes } from '../channels/http-client.js';

export const JOURNAL_ROTATE_BYTES = 1 << 20;
/** Journals untouched this long belong to no process a release could still concern (FORGET_AFTER_MS is an hour). */
const STALE_MS = 24 * 3_600_000;

const DONE = Promise.resolve();

/** Lines recorded in one run of microtasks, and the promise their requests wait on. */
interface Burst {
  text: string;
  written: Promise<void>;
}

/** Where the journals live unless configured: one folder per user, shared by every Ponte process of that user here. */
export function defaultJournalDir(): string {
  return join(tmpdir(), `ponte-sends-${process.getuid?.() ?? 'user'}`);
}

function journalFile(dir: string, tag: string): string {
  if (!isClaimTag(tag)) throw new Error(`send journal: claim tag "${tag}" is not alphanumeric`);
  return join(dir, `${tag}.sends`);
}

export class SendJournal {
  private fd: number;
  private bytes = 0;
  /** Set when a write failed and the file was removed: nothing is recorded, every kill stays uncertain. */
  private failed: Error | null = null;
  /** Requests made whose outcome is not yet committed: what a rotation must carry over. */
  private readonly open = new Map<number, number>();

  private constructor(
    private readonly dir: string,
    private readonly tag: string,
    private readonly onFailure: (e: Error) => void,
  ) {
    this.fd = openSync(journalFile(dir, tag), 'w', 0o600);
    this.unhook = beforeRequestBytes(() => this.writeAtSocket());
  }

  private readonly unhook: () => void;
  /** Lines of sends made with `atSocket`, written by the next request that can write its bytes. */
  private readonly atSocket = new Map<number, number>();

  private writeAtSocket(): void {
    if (this.atSocket.size === 0) return;
    let text = '';
    for (const [id, attempt] of this.atSocket) text += `${id}.${attempt}\n`;
    this.atSocket.clear();
    if (!this.failed) this.guard(() => this.append(text));
  }

  /**
   * Creates this process's (empty) journal; an empty file says "nothing sent", so it exists before
   * any claim. `onFailure` hears once of a write that failed (a full disk): the journal then stops.
   */
  static create(dir: string, tag: string, onFailure: (e: Error) => void = () => undefined): SendJournal {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    return new SendJournal(dir, tag, onFailure);
  }

  /**
   * Before the request leaves: resolves once its line is written, and the request must not leave
   * before. The lines of every request recorded in one run of microtasks (a burst: the sends one
   * group commit or one end of turn released) go in one write(2) — one each cost about 5 µs of a
   * 60 µs delivery on this machine. A record that cannot be written removes the file (a journal
   * that lacks a request would have it sent twice); if even that fails this rejects, and the
   * request must not leave.
   *
   * `atSocket`, for a send whose requests all run the beforeRequestBytes hooks
   * (Channel.requestsHooked): resolves at once, and the line is written as the first request after
   * this can write its bytes (it gets a connected socket, or its new one connects and, for TLS,
   * ends its handshake), just before Node writes them. Written before the send
   * started, the line waited milliseconds for the bytes while the event loop went on with other
   * work (docs/performance.md), and a kill there held *uncertain* a send that never left. A send
   * settled without any request never writes its line; a line that cannot be written removes the
   * file (every `sending` then stays uncertain, as without a journal).
   */
  posted(deliveryId: number, attempt: number, atSocket = false): Promise<void> {
    if (this.failed || this.open.get(deliveryId) === attempt) return DONE; // stopped, or a quick retry of the same attempt
    this.open.set(deliveryId, attempt);
    if (atSocket) {
      this.atSocket.set(deliveryId, attempt);
      return DONE;
    }
    const line = `${deliveryId}.${attempt}\n`;
    if (this.burst) {
      this.burst.text += line;
      return this.burst.written;
    }
    const burst: Burst = { text: line, written: DONE };
    burst.written = new Promise<void>((resolve, reject) => queueMicrotask(() => {
      try {
        this.write(burst);
        resolve();
      } catch (e) {
        reject(e);
      }
    }));
    this.burst = burst;
    return burst.written;
  }

  /** Lines recorded and not yet written: their requests wait for them. */
  private burst: Burst | null = null;

  private write(burst: Burst): void {
    if (this.burst !== burst) return; // written already (a close or a rotation came first)
    this.burst = null;
    if (!this.failed) this.guard(() => this.append(burst.text));
  }

  /** The delivery's outcome is committed: it is no longer `sending`, and a rotation may drop it. */
  settled(deliveryId: number): void {
    this.open.delete(deliveryId);
    this.atSocket.delete(deliveryId); // settled before any request of it got a socket: it never left
    if (!this.failed && this.bytes >= JOURNAL_ROTATE_BYTES) this.guard(() => this.rotate());
  }

  /** Why the journal stopped recording, if it did. */
  get failure(): Error | null {
    return this.failed;
  }

  private guard(write: () => void): void {
    try {
      write();
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      // Without the file a release knows nothing and holds every `sending` uncertain: safe.
      removeSendJournal(this.dir, this.tag);
      try { closeSync(this.fd); } catch { /* already closed */ }
      this.failed = err;
      this.onFailure(err);
    }
  }

  /** Requests made and not yet settled (tests). */
  get unsettled(): number {
    return this.open.size;
  }

  /** A clean stop with nothing in flight: the file says nothing a release would need. */
  remove(): void {
    this.unhook();
    this.burst = null;
    this.atSocket.clear();
    if (!this.failed) closeSync(this.fd);
    removeSendJournal(this.dir, this.tag);
  }

  /** Stops writing, keeping the file for the process that releases this one's claims. */
  close(): void {
    this.unhook();
    if (this.burst) this.write(this.burst); // whatever is recorded is in the file, as it would be at a kill
    this.writeAtSocket();
    if (!this.failed) closeSync(this.fd);
  }

  private append(line: string): void {
    const n = writeSync(this.fd, line);
    this.bytes += n;
    if (n !== line.length) throw new Error(`send journal: short write (${n} of ${line.length} bytes)`);
  }

  /** The open requests into a new file, renamed over the old one: a kill at any point leaves a complete file. */
  private rotate(): void {
    const file = journalFile(this.dir, this.tag);
    const next = `${file}.next`;
    const fd = openSync(next, 'w', 0o600);
    let bytes = 0;
    try {
      let text = '';
      for (const [id, attempt] of this.open) text += `${id}.${attempt}\n`;
      if (text) bytes = writeSync(fd, text);
      if (bytes !== text.length) throw new Error(`send journal: short write (${bytes} of ${text.length} bytes)`);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
    renameSync(next, file);
    this.burst = null; // its lines are open requests: in the new file already
    this.atSocket.clear();
    closeSync(this.fd);
    this.fd = fd;
    this.bytes = bytes;
  }
}

/**
 * The requests a (dead) process recorded, as "<delivery id>.<attempt>"; null when it left no
 * journal here (another machine, another temporary folder, or none kept): then nothing is known.
 */
export function readSendJournal(dir: string, tag: string): Set<string> | null {
  let text: string;
  try {
    text = readFileSync(journalFile(dir, tag), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  // Only whole lines: a request leaves after its line is written, so a torn last line was not sent.
  const lines = text.split('\n');
  lines.pop();
  return new Set(lines.filter((l) => /^\d+\.\d+$/.test(l)));
}

export function removeSendJournal(dir: string, tag: string): void {
  try {
    unlinkSync(journalFile(dir, tag));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

function mtimeOr0(file: string): number {
  try { return statSync(file).mtimeMs; } catch { return 0; }
}

/** Journals of processes long gone (released elsewhere, or never released): removed at start. */
export function sweepStaleJournals(dir: string, now = Date.now()): number {
  let removed = 0;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const name of names) {
    // An alive socket (alive-socket.ts) goes once its process's journal is gone: a live process
    // always has one, unless its writes failed, and then its pid still speaks for it.
    const socketOf = aliveSocketTag(name);
    if (!/\.sends(\.next)?$/.test(name) && !socketOf) continue;
    const file = join(dir, name);
    try {
      if (now - statSync(file).mtimeMs <= STALE_MS) continue;
      if (socketOf && now - mtimeOr0(journalFile(dir, socketOf)) <= STALE_MS) continue;
      unlinkSync(file);
      removed++;
    } catch { /* gone meanwhile, or not ours to remove */ }
  }
  return removed;
}
