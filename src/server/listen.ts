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
  const busy = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    busy.add(req.socket);
    res.on('close', () => busy.delete(req.socket));
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
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Keep-alive and withheld connections would keep close() waiting: end them now (with a
      // drain, only the idle ones; the rest once it is over).
      for (const s of sockets) if (!drain || !busy.has(s)) s.destroy();
      if (drain) {
        // Over when what it waits for settles (follow-ups included, which hold no connection) or its time is up.
        await settleWithin([drain.until], drain.drainMs);
        for (const s of sockets) s.destroy();
      }
      await closed;
    },
  };
}
