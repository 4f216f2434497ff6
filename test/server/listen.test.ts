// listen(): the stop of every HTTP server of Ponte. The webhook server's own tests (http-server.test.ts)
// cover answers being prepared at the stop; this covers a request that reaches a connection after
// the stop began, behind an answer whose "keep-alive" headers had already gone out.
import { createServer, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { listen } from '../../src/server/listen.js';
import { gate } from '../helpers/gate.js';

describe('listen', () => {
  it('answers a request that arrives on a busy kept-alive connection during the drain with "Connection: close", then ends it cleanly', async () => {
    const streamEnds = gate();
    const server = createServer((req, res: ServerResponse) => {
      if (req.url === '/stream') {
        // Headers (keep-alive) and a first part go out at once; the rest after the gate.
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('part1;');
        void streamEnds.opened.then(() => res.end('part2;'));
      } else res.end('next;');
    });
    const listening = await listen(server, '127.0.0.1', 0, 'test server');
    const { port } = new URL(listening.origin);
    const socket = connect(Number(port), '127.0.0.1');
    let received = '';
    let ended = false;
    let failed: Error | undefined;
    const arrived = (text: string) => new Promise<void>((resolve) => {
      const check = () => { if (received.includes(text)) { socket.off('data', check); resolve(); } };
      socket.on('data', check);
      check();
    });
    socket.on('data', (d: Buffer) => { received += d.toString(); });
    socket.on('end', () => { ended = true; });
    socket.on('error', (e) => { failed = e; });
    const gone = new Promise<void>((r) => socket.on('close', () => r()));

    socket.write('GET /stream HTTP/1.1\r\nHost: x\r\n\r\n');
    await arrived('part1;');
    expect(received).toMatch(/\r\nconnection: keep-alive\r\n/i); // said before the stop: it cannot be taken back
    // The stop begins while /stream is still being answered; the drain lasts until the client has both answers.
    const bothAnswers = arrived('next;');
    const closing = listening.close({ until: bothAnswers, drainMs: 5_000 });
    // The client, told keep-alive, sends its next request on the same connection.
    socket.write('GET /next HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise((r) => setTimeout(r, 50)); // parsed by the server, its answer queued behind /stream
    streamEnds.open();
    await bothAnswers;
    await closing;
    await gone;

    expect(failed).toBeUndefined();
    expect(ended).toBe(true); // a clean end (FIN), not a reset
    const answers = received.split(/(?=HTTP\/1\.1 )/);
    expect(answers).toHaveLength(2);
    expect(answers[1]).toMatch(/^HTTP\/1\.1 200 /);
    // The request that came during the drain is told the connection ends: the client's next one goes to a new connection.
    expect(answers[1]).toMatch(/\r\nconnection: close\r\n/i);
    expect(answers[1]).toContain('next;');
  });
});
