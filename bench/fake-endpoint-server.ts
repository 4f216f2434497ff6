// The benchmarks' fake provider, run as its own process by fake-endpoint.ts: answers like IO's
// POST /messages (201 + id) after an optional latency, and prints its port on stdout.
//   tsx bench/fake-endpoint-server.ts <latencyMs>
import { createServer } from 'node:http';

const latencyMs = Number(process.argv[2] ?? 0);
let n = 0; // the id of each answer
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
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`${JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 })}\n`);
});
// The parent closes our stdin to stop us.
process.stdin.on('end', () => process.exit(0)).resume();
