// A request's body as bytes, read whole, for Ponte's server and the sandboxes alike. A body past
// `maxBytes` is never kept, so an oversized request costs no memory. By default it is drained to
// its end (the sandboxes then answer on a quiet connection); with `stopWhenTooLarge` reading stops
// at once, so a slow or endless upload cannot hold the connection: the caller answers and destroys it.
import type { IncomingMessage } from 'node:http';

export interface ReadBodyOptions {
  /** Resolve null as soon as the declared Content-Length or the bytes read pass `maxBytes`, leaving the rest unread. */
  stopWhenTooLarge?: boolean;
}

/** The body's bytes, or null when it is longer than `maxBytes`. */
export function readBody(req: IncomingMessage, maxBytes: number, opts: ReadBodyOptions = {}): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    if (opts.stopWhenTooLarge && Number(req.headers['content-length'] ?? 0) > maxBytes) return resolve(null);
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer) => {
      size += c.length;
      if (size <= maxBytes) chunks.push(c);
      else if (opts.stopWhenTooLarge) {
        req.off('data', onData);
        req.off('end', onEnd);
        req.pause();
        resolve(null);
      }
    };
    const onEnd = () => resolve(size > maxBytes ? null : Buffer.concat(chunks));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', reject);
  });
}
