// Which machine and process namespace this process runs in, so that another Ponte process can ask
// the kernel whether a pid recorded in the store is still alive. Two containers can share a
// hostname (host networking) without sharing pids; the boot id and the pid namespace tell them apart.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';

export interface ProcessIdentity {
  /** Same value exactly for processes whose pids the kernel here can check; null where unknown (not Linux). */
  hostKey: string | null;
  pid: number;
  /** Prefix of this process's claim tokens, so its claims can be found (and released) by process. */
  claimTag: string;
}

/** This boot of the kernel (null off Linux): changes at every reboot, shared by every pid namespace. */
function bootId(): string | null {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return null;
  }
}

export function localHostKey(): string | null {
  const boot = bootId();
  if (boot === null) return null;
  try {
    const pidNamespace = readlinkSync('/proc/self/ns/pid');
    return createHash('sha256').update(`${hostname()}\n${boot}\n${pidNamespace}`).digest('hex').slice(0, 32);
  } catch {
    return null;
  }
}

/** The kernel's boot alone, hashed (null off Linux): what names a process's alive socket (alive-socket.ts). */
export function localBootKey(): string | null {
  const boot = bootId();
  return boot === null ? null : createHash('sha256').update(boot).digest('hex').slice(0, 12);
}

/** What processIdentity() writes as a claim tag: safe in a LIKE pattern on every store dialect, and as a file name. */
export function isClaimTag(tag: string): boolean {
  return /^[0-9A-Za-z]{1,16}$/.test(tag);
}

export function processIdentity(): ProcessIdentity {
  return { hostKey: localHostKey(), pid: process.pid, claimTag: randomBytes(6).toString('hex') };
}

/** True only when the kernel says no process has this pid (ESRCH); a pid in use, by anyone, is not gone. */
export function pidGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
