// The send journal's lines for hooked channels (posted(…, atSocket), Channel.requestsHooked): written as a provider
// request gets its socket, just before Node writes its bytes. What must hold: the provider finds
// the line in the file as the request arrives (so a request that left is always recorded), the
// line is not written before that (a kill before the request leaves then finds it unsent), and a
// send that makes no request never records one.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { providerHttp } from '../../src/channels/http-client.js';
import { SendJournal } from '../../src/dispatch/send-journal.js';

let dir: string;
let server: Server;
let url: string;
/** What the journal file held as each request reached the server. */
let seenAtArrival: string[];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ponte-journal-socket-'));
  seenAtArrival = [];
  server = createServer((req, res) => {
    seenAtArrival.push(readFileSync(join(dir, 'sock1.sends'), 'utf8'));
    req.resume();
    req.on('end', () => res.end('{}'));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const a = server.address() as { port: number };
  url = `http://127.0.0.1:${a.port}/`;
});
afterEach(async () => {
  await new Promise<void>((ok) => server.close(() => ok()));
  rmSync(dir, { recursive: true, force: true });
});

describe('send journal, lines written at the request\'s socket', () => {
  it('is in the file when the request reaches the provider, and not before the request is made', async () => {
    const j = SendJournal.create(dir, 'sock1');
    const { http, close } = providerHttp(5_000);
    try {
      void j.posted(5, 1, true);
      void j.posted(6, 2, true);
      await new Promise((r) => setImmediate(r)); // turns go by: nothing written while no request is made
      expect(readFileSync(join(dir, 'sock1.sends'), 'utf8')).toBe('');
      await http.post(url, { a: 1 }); // a new connection
      await http.post(url, { a: 2 }); // a kept-alive one
      void j.posted(7, 1, true);
      void j.posted(7, 1, true); // a quick retry of the same attempt: one line
      await Promise.all([http.post(url, { a: 3 }), http.post(url, { a: 4 })]);
      expect(seenAtArrival).toEqual(['5.1\n6.2\n', '5.1\n6.2\n', '5.1\n6.2\n7.1\n', '5.1\n6.2\n7.1\n']);
    } finally {
      close();
      j.remove();
    }
  });

  it('never records a send that made no request; close() writes what is recorded, as a kill would find it', async () => {
    const j = SendJournal.create(dir, 'sock1');
    void j.posted(9, 1, true);
    j.settled(9); // answered without a request (a halt, a render error): no line needed
    const before = readFileSync(join(dir, 'sock1.sends'), 'utf8');
    void j.posted(10, 1, true);
    j.close();
    expect(before).toBe('');
    expect(readFileSync(join(dir, 'sock1.sends'), 'utf8')).toBe('10.1\n');
  });
});
