// A request's body as bytes, read whole, for Ponte's server and the sandboxes alike: a body past
// `maxBytes` is drained but not kept, so an oversized request costs no memory and gets a plain answer.
import type { IncomingMessage } from 'node:http';

/** The body's bytes, or null when it is longer than `maxBytes`. */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= maxBytes) chunks.push(c);
    });
    req.on('end', () => resolve(size > maxBytes ? null : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
