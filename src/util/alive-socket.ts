// Whether a Ponte process that ran on this kernel is dead, when its pid cannot say so. A container
// restarted after a crash starts in a new pid namespace: the dead process's pid means nothing
// there (it may even be the restart's own, 1), so its claims waited for their leases and every
// send it had `sending` was held uncertain. Each `ponte run` therefore listens on a Unix socket in
// its send-journal folder; the kernel closes it when the process dies, however it dies. A connect
// that is refused (ECONNREFUSED) on a socket file that is still there proves the listener gone.
// The file's name carries the kernel's boot id (hashed), so a socket file seen through a folder
// shared with another machine (where a live listener would look refused too) is never asked.
import { unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { join } from 'node:path';

/** `bootKey`: localBootKey() (process-identity.ts); only sockets made under this boot are asked. */
export function aliveSocketPath(dir: string, claimTag: string, bootKey: string): string {
  return join(dir, `${claimTag}-${bootKey}.alive`);
}

/** The claim tag of the process an alive socket's file name belongs to, or null for any other file. */
export function aliveSocketTag(fileName: string): string | null {
  return /^([0-9A-Za-z]+)-[0-9a-f]+\.alive$/.exec(fileName)?.[1] ?? null;
}

/** Linux keeps 108 bytes for a socket's path; a longer one would be cut, so two processes could share one. */
const MAX_PATH_BYTES = 107;

function usable(path: string): boolean {
  return Buffer.byteLength(path) <= MAX_PATH_BYTES;
}

/**
 * Listens until close(). Null when it cannot (a path over the 107 bytes a Unix socket allows, a
 * folder that cannot be written): the process is then judged by its pid alone, as before.
 */
export async function listenAlive(dir: string, claimTag: string, bootKey: string): Promise<{ close(): Promise<void> } | null> {
  const path = aliveSocketPath(dir, claimTag, bootKey);
  if (!usable(path)) return null;
  const server: Server = createServer((s) => s.destroy());
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => { server.off('error', reject); resolve(); });
    });
  } catch {
    server.close();
    return null;
  }
  server.unref();
  // Node removes the socket file when the server closes.
  return { close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/**
 * True only when the process's socket file is here and refuses connections: its listener is gone.
 * No file (another machine, a process that could not listen, or one that stopped cleanly) or any
 * other answer is not proof.
 */
export function aliveSocketGone(dir: string, claimTag: string, bootKey: string, timeoutMs = 1000): Promise<boolean> {
  const path = aliveSocketPath(dir, claimTag, bootKey);
  if (!usable(path)) return Promise.resolve(false);
  return new Promise((resolve) => {
    const s = createConnection(path);
    const done = (gone: boolean) => { clearTimeout(timer); s.destroy(); resolve(gone); };
    const timer = setTimeout(() => done(false), timeoutMs);
    s.once('connect', () => done(false));
    s.once('error', (e: NodeJS.ErrnoException) => done(e.code === 'ECONNREFUSED'));
  });
}

/** The socket file a dead process left (its listener is gone): removed with its journal. */
export function removeAliveSocket(dir: string, claimTag: string, bootKey: string): void {
  try {
    unlinkSync(aliveSocketPath(dir, claimTag, bootKey));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}
