// A TCP proxy in front of a real server (PostgreSQL), so that a test can take the server away from
// a child process and give it back without touching the server itself, which other suites share.
// cut('refuse'): every connection is dropped and new ones are refused (a restart, a failover);
// cut('blackhole'): every connection is dropped and new ones hang unanswered (a firewall, a dead
// host); cut('freeze'): open connections and new ones hang, nothing is dropped (a network
// partition: no FIN, no RST). restore() forwards again.
import { createServer, connect, type Server, type Socket } from 'node:net';

export type CutMode = 'refuse' | 'blackhole' | 'freeze';

export interface TcpProxy {
  readonly port: number;
  /** `url` with its host and port replaced by the proxy's. */
  via(url: string): string;
  cut(mode?: CutMode): Promise<void>;
  restore(): Promise<void>;
  /** Connections accepted so far (forwarded or held). */
  readonly accepted: number;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const unforwarded = new Set<Socket>();
  let mode: CutMode | null = null;
  /** Sockets whose peer closed while frozen: closed on restore. */
  const held = new Set<Socket>();
  let accepted = 0;
  const track = (s: Socket) => { sockets.add(s); s.on('close', () => sockets.delete(s)); s.on('error', () => undefined); };
  const onConnection = (client: Socket) => {
    accepted++;
    track(client);
    if (mode) { unforwarded.add(client); return; } // blackhole/freeze: accepted, unanswered until restore()
    forward(client);
  };
  // Forwarded pairs, each way: a freeze unpipes and pauses them, restore pipes them again.
  const pairs = new Map<Socket, Socket>();
  const forward = (client: Socket) => {
    const upstream = connect(target.port, target.host);
    track(upstream);
    pairs.set(client, upstream);
    pairs.set(upstream, client);
    for (const s of [client, upstream]) s.on('close', () => pairs.delete(s));
    client.pipe(upstream);
    upstream.pipe(client);
    // Not while frozen: on a partition neither end learns that the other closed. (A socket that
    // errors, an RST, closes even paused; its peer is told on restore.)
    const close = (other: Socket) => () => { if (mode === 'freeze') held.add(other); else other.destroy(); };
    client.on('close', close(upstream));
    upstream.on('close', close(client));
  };
  let server: Server = createServer(onConnection);
  const listen = (s: Server, port: number) => new Promise<void>((ok, fail) => { s.once('error', fail); s.listen(port, '127.0.0.1', () => ok()); });
  await listen(server, 0);
  const port = (server.address() as { port: number }).port;

  const closeServer = () => new Promise<void>((ok) => server.close(() => ok()));
  return {
    port,
    get accepted() { return accepted; },
    via: (url) => { const u = new URL(url); u.hostname = '127.0.0.1'; u.port = String(port); return u.toString(); },
    async cut(m = 'refuse') {
      mode = m;
      if (m === 'freeze') {
        // Unpiped as well as paused: a pipe resumes its source when the destination drains.
        // Bytes not read yet stay in the kernel's buffers (acknowledged by this host, so the
        // sender sees no retransmission timeout either) and flow on restore.
        for (const [from, to] of pairs) { from.unpipe(to); from.pause(); }
        return;
      }
      for (const s of sockets) s.destroy();
      if (m === 'refuse') await closeServer();
    },
    async restore() {
      const was = mode;
      mode = null;
      if (was === 'refuse') {
        server = createServer(onConnection);
        await listen(server, port);
      }
      if (was === 'freeze') {
        for (const [from, to] of pairs) if (!from.destroyed && !to.destroyed) from.pipe(to);
        // Peers closed while frozen: the other end learns it now, after what was held flowed.
        for (const s of held) setImmediate(() => s.end());
        held.clear();
      }
      // Connections that hung while cut go through now, as a connect whose packets were held does
      // once the path is back (what they sent meanwhile waits in their buffers).
      for (const s of unforwarded) if (!s.destroyed) forward(s);
      unforwarded.clear();
    },
    async close() {
      for (const s of sockets) s.destroy();
      if (mode !== 'refuse') await closeServer();
    },
  };
}
