// What an incremental read has consumed of a file: its first `bytes` bytes and their SHA-256.
// The next run checks that the file still starts with them. An append keeps them; a rewrite (a
// nightly export regenerated whole) does not, however many lines it now has. A line count alone
// cannot tell the two apart when the rewritten file is as long as the one read.
import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';

const CHUNK = 64 * 1024;

export interface Consumed { bytes: number; sha256: string }

/** Fed every byte read, in order; its state at any moment is a prefix of the file as it was read. */
export class PrefixHash {
  #hash = createHash('sha256');
  #bytes = 0;

  add(chunk: Buffer): void {
    this.#hash.update(chunk);
    this.#bytes += chunk.length;
  }

  /**
   * The bytes fed so far. They may run past the last line handed out (the stream reads ahead):
   * those bytes were in the file too, so an append keeps them and the check still holds.
   */
  consumed(): Consumed {
    return { bytes: this.#bytes, sha256: this.#hash.copy().digest('hex') };
  }
}

/** Whether the file (of `size` bytes) still starts with `prefix`: streamed, so memory stays bounded. */
export async function startsWith(handle: FileHandle, size: number, prefix: Consumed): Promise<boolean> {
  if (size < prefix.bytes) return false;
  const hash = createHash('sha256');
  // Positional reads into one buffer (a stream on the handle closed it): the rows are read from it next.
  const buffer = Buffer.alloc(Math.min(CHUNK, prefix.bytes));
  for (let at = 0; at < prefix.bytes;) {
    const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, prefix.bytes - at), at);
    if (bytesRead === 0) return false; // cut while being checked
    hash.update(buffer.subarray(0, bytesRead));
    at += bytesRead;
  }
  return hash.digest('hex') === prefix.sha256;
}
