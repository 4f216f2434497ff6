// What sits between Ponte and the IO sandbox in a torture run, like the network and APIM in front
// of the real IO: a latency on every call (so a kill finds requests in flight) and, on demand,
// responses withheld after IO has acted (a POST whose message exists but whose answer never
// comes). A request that left a killed process still reaches the sandbox, as it would reach IO.
import { createServer, request, Agent, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface FrontRecord {
  /** Arrival time, epoch ms. */
  at: number;
  method: string;
  path: string;
  /** POST /messages: the fiscal code in the body. */
  submitFor?: string;
  withheld: boolean;
}

export interface IoFront {
  /** Base URL with /api/v1, like the sandbox's. */
  readonly url: string;
  readonly records: FrontRecord[];
  /** Failures between this front and the sandbox (there should be none: each would look like a lost answer to Ponte). */
  readonly upstreamErrors: string[];
  /** The answers to the next `count` POST /messages are withheld (the message is created). */
  withholdNext(count: number): void;
  /** Stop withholding (responses already withheld stay so). */
  cancelWithhold(): void;
  close(): Promise<void>;
}

export async function startIoFront(sandboxUrl: string, latencyMs: number): Promise<IoFront> {
  const target = new URL(sandboxUrl);
  // A fresh connection per call: a pooled one the sandbox closed while idle would reset a request
  // here, and Ponte would rightly take that for a send of unknown outcome.
  const agent = new Agent({ keepAlive: false });
  const records: FrontRecord[] = [];
  const upstreamErrors: string[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let withhold = 0;
  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => { timers.delete(t); fn(); }, ms);
    timers.add(t);
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const method = req.method ?? 'GET';
      const path = req.url ?? '/';
      const record: FrontRecord = { at: Date.now(), method, path, withheld: false };
      if (method === 'POST' && /\/messages$/.test(path)) {
        try {
          record.submitFor = (JSON.parse(body.toString('utf8')) as { fiscal_code?: string }).fiscal_code;
        } catch { /* the sandbox answers a bad body with its own 400 */ }
        if (withhold > 0) { withhold--; record.withheld = true; }
      }
      records.push(record);
      // Half the latency on the way in, half on the way back.
      later(latencyMs / 2, () => {
        const up = request({
          agent, host: target.hostname, port: target.port, method, path,
          headers: { ...req.headers, host: target.host },
        }, (answer) => {
          const back: Buffer[] = [];
          answer.on('data', (c: Buffer) => back.push(c));
          answer.on('end', () => {
            if (record.withheld) return; // IO acted; the sender never hears of it
            later(latencyMs / 2, () => {
              if (res.destroyed) return;
              res.writeHead(answer.statusCode ?? 502, answer.headers);
              res.end(Buffer.concat(back));
            });
          });
        });
        up.on('error', (e: NodeJS.ErrnoException) => {
          upstreamErrors.push(`${method} ${path}: ${e.code ?? e.message}`);
          if (!res.destroyed) res.destroy();
        });
        up.end(body);
      });
    });
    res.on('error', () => { /* the client died: nothing to tell it */ });
  };

  const server = createServer(onRequest);
  // Idle connections outlive Ponte's own idle timeout (60 s), so Ponte always drops a pooled socket
  // first. With Node's default 5 s both sides close at the same moment and a POST written on the
  // dying socket fails as "socket hang up": a false uncertain that no kill caused (reported apart).
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); s.on('error', () => {}); });
  await new Promise<void>((ok, fail) => { server.once('error', fail); server.listen(0, '127.0.0.1', () => ok()); });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('IO front: no TCP address');
  return {
    url: `http://127.0.0.1:${address.port}${target.pathname.replace(/\/$/, '')}`,
    records,
    upstreamErrors,
    withholdNext: (count) => { withhold += count; },
    cancelWithhold: () => { withhold = 0; },
    close: () => new Promise<void>((ok) => {
      for (const t of timers) clearTimeout(t);
      server.close(() => ok());
      for (const s of sockets) s.destroy();
      agent.destroy();
    }),
  };
}
