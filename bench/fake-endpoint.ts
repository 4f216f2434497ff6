// A minimal local endpoint for benchmarks: answers like IO's POST /messages (201 + id) with an
// optional latency, and nothing else — so the figures measure the senders, not the fake.
import { createServer } from 'node:http';
import { listen, type Listening } from '../src/server/listen.js';

export async function fakeEndpoint(latencyMs: number): Promise<Listening & { received: () => number }> {
  let n = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      n++;
      const reply = () => {
        res.writeHead(201, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ id: `m${n}` }));
      };
      if (latencyMs > 0) setTimeout(reply, latencyMs);
      else reply();
    });
  });
  server.keepAliveTimeout = 60_000;
  const l = await listen(server, '127.0.0.1', 0, 'bench endpoint');
  return { ...l, received: () => n };
}
