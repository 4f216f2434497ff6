// Listening on a local port and closing promptly: every HTTP server of Ponte (the webhook server,
// both sandboxes) tracks its sockets so close() does not wait on keep-alive or held connections.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { settleWithin } from '../util/in-flight.js';

export interface Listening {
  /** http://host:port */
  origin: string;
  /**
   * Stops listening and ends every connection. With `drain`, connections with a request being
   * answered are left to finish until it settles or `drainMs` pass, whichever comes first.
   */
  close(drain?: { until: Promise<unknown>; drainMs: number }): Promise<void>;
}

export async function listen(server: Server, host: string, port: number, what: string): Promise<Listening> {
  const sockets = new Set<Socket>();
  /** Connections with a request being answered, and their answers (several when pipelined). */
  const busy = new Map<Socket, Set<ServerResponse>>();
  let closing = false;
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  // Before the server's own handler (prepended): one that answers at once has its headers out
  // before a listener added after it would run.
  server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
    // A request that reaches a kept-alive connection while closing is still answered, but with
    // "Connection: close": the client then sends its next one on a new connection (refused, so
    // retried later) instead of on this one, which the drain's end would cut mid-request.
    if (closing) res.shouldKeepAlive = false;
    const socket = req.socket;
    const answers = busy.get(socket) ?? new Set<ServerResponse>();
    busy.set(socket, answers.add(res));
    res.on('close', () => { answers.delete(res); if (answers.size === 0) busy.delete(socket); });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      // Node's "listen EADDRINUSE 127.0.0.1:8080" names neither the server nor what to change.
      if (e.code === 'EADDRINUSE') reject(new Error(`${what}: ${host}:${port} is already in use (another Ponte process, or another program)`, { cause: e }));
      else if (e.code === 'EACCES') reject(new Error(`${what}: not allowed to listen on ${host}:${port} (ports below 1024 need privileges)`, { cause: e }));
      else reject(e);
    });
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error(`${what}: no TCP address`);
  const h = address.family === 'IPv6' || address.address.includes(':') ? `[${address.address}]` : address.address;
  return {
    origin: `http://${h}:${address.port}`,
    close: async (drain) => {
      closing = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Keep-alive and withheld connections would keep close() waiting: end them now (with a
      // drain, only the idle ones; the rest once it is over). An answer still to come ends its
      // connection instead of keeping it alive.
      for (const s of sockets) if (!drain || !busy.has(s)) s.destroy();
      for (const answers of busy.values()) for (const res of answers) if (!res.headersSent) res.shouldKeepAlive = false;
      if (drain) {
        // Over when what it waits for settles (follow-ups included, which hold no connection) or its time is up.
        await settleWithin([drain.until], drain.drainMs);
        for (const s of sockets) s.destroy();
      }
      await closed;
    },
  };
}
