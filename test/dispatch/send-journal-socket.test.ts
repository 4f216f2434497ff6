// The send journal's lines for hooked channels (posted(…, atSocket), Channel.requestsHooked): written as a provider
// request can write its bytes (it gets a connected socket, or its new one connects and ends any TLS handshake), just before Node writes them. What must hold: the provider finds
// the line in the file as the request arrives (so a request that left is always recorded), the
// line is not written before that (a kill before the request leaves then finds it unsent), and a
// send that makes no request never records one.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createServer as createHttpsServer, type Agent as HttpsAgent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { beforeRequestBytes, providerHttp } from '../../src/channels/http-client.js';
import { SendJournal } from '../../src/dispatch/send-journal.js';
import { closedPort } from '../helpers/closed-port.js';

let dir: string;
let server: Server;
let url: string;
/** What the journal file holds now. */
const written = () => readFileSync(join(dir, 'sock1.sends'), 'utf8');
/** What the journal file held as each request reached the server. */
let seenAtArrival: string[];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ponte-journal-socket-'));
  seenAtArrival = [];
  server = createServer((req, res) => {
    seenAtArrival.push(written());
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
      expect(written()).toBe('');
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

  it('on a connection still being made, waits for it: nothing written while its name is looked up', async () => {
    const j = SendJournal.create(dir, 'sock1');
    const { http, close } = providerHttp(5_000);
    const port = new URL(url).port;
    let resolve: (() => void) | undefined;
    // A slow name lookup holds the new socket in `connecting`, as a provider's DNS and TCP set-up do.
    const lookup = (_host: string, _opts: unknown, cb: (err: Error | null, address: string, family: number) => void) => {
      resolve = () => cb(null, '127.0.0.1', 4);
    };
    try {
      void j.posted(11, 1, true);
      const sent = http.post(`http://provider.invalid:${port}/`, { a: 1 }, { lookup } as object);
      while (!resolve) await new Promise((r) => setImmediate(r));
      await new Promise((r) => setImmediate(r)); // the request has its socket, still connecting
      expect(written()).toBe('');
      resolve();
      await sent;
      expect(seenAtArrival).toEqual(['11.1\n']);
    } finally {
      close();
      j.remove();
    }
  });

  it('a connection that fails writes nothing: no byte left', async () => {
    const j = SendJournal.create(dir, 'sock1');
    const { http, close } = providerHttp(5_000);
    const refused = await closedPort();
    try {
      void j.posted(12, 1, true);
      await expect(http.post(`http://127.0.0.1:${refused}/`, { a: 1 })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
      expect(written()).toBe('');
      j.settled(12);
      await http.post(url, { a: 2 }); // the next request writes only what still waits
      expect(seenAtArrival).toEqual(['']);
    } finally {
      close();
      j.remove();
    }
  });

  it('over TLS, as IO and WhatsApp are reached: in the file when the request arrives, on a new connection and a kept-alive one', async () => {
    const tls = (name: string) => readFileSync(new URL(`../fixtures/tls/${name}`, import.meta.url));
    const secure = createHttpsServer({ key: tls('test-only-key.pem'), cert: tls('test-only-cert.pem') }, (req, res) => {
      seenAtArrival.push(written());
      req.resume();
      req.on('end', () => res.end('{}'));
    });
    await new Promise<void>((ok) => secure.listen(0, '127.0.0.1', ok));
    const j = SendJournal.create(dir, 'sock1');
    const { http, close } = providerHttp(5_000);
    (http.defaults.httpsAgent as HttpsAgent).options.ca = tls('test-only-cert.pem'); // trust the test's own certificate
    const at = `https://127.0.0.1:${(secure.address() as { port: number }).port}/`;
    try {
      void j.posted(21, 1, true);
      await http.post(at, { a: 1 }); // a new connection: TCP, then the handshake
      void j.posted(22, 1, true);
      await http.post(at, { a: 2 }); // kept alive
      expect(seenAtArrival).toEqual(['21.1\n', '21.1\n22.1\n']);
    } finally {
      close();
      j.remove();
      await new Promise<void>((ok) => secure.close(() => ok()));
    }
  });

  it('over TLS, not before the handshake ends: nothing written while a provider holds it', async () => {
    // TCP is accepted, the handshake never answered: the request's bytes can never leave.
    const held: Socket[] = [];
    const silent = createNetServer((c) => void held.push(c));
    await new Promise<void>((ok) => silent.listen(0, '127.0.0.1', ok));
    const j = SendJournal.create(dir, 'sock1');
    const { http, close } = providerHttp(300);
    try {
      void j.posted(31, 1, true);
      await expect(http.post(`https://127.0.0.1:${(silent.address() as { port: number }).port}/`, { a: 1 })).rejects.toMatchObject({ code: 'ETIMEDOUT' });
      expect(written()).toBe('');
    } finally {
      close();
      j.remove();
      for (const c of held) c.destroy();
      await new Promise<void>((ok) => silent.close(() => ok()));
    }
  });

  it('over TLS, the hooks end before any byte reaches a provider in another process', async () => {
    // The hooks run on `secureConnect`; this holds that Node sends the request only after them.
    // A hook that keeps the thread 200 ms: a byte sent before it returned would arrive meanwhile.
    const dirOfCerts = fileURLToPath(new URL('../fixtures/tls/', import.meta.url));
    const server = spawn(process.execPath, ['-e', `
      const tls = require('node:tls'), fs = require('node:fs'), d = process.argv[1];
      const s = tls.createServer({ key: fs.readFileSync(d + 'test-only-key.pem'), cert: fs.readFileSync(d + 'test-only-cert.pem') }, (c) => {
        c.once('data', () => { console.log('data ' + Date.now()); c.end('HTTP/1.1 200 OK\\r\\ncontent-length: 2\\r\\nconnection: close\\r\\n\\r\\n{}'); });
      });
      s.listen(0, '127.0.0.1', () => console.log('port ' + s.address().port));`, dirOfCerts]);
    const lines: string[] = [];
    server.stdout.on('data', (b: Buffer) => lines.push(...b.toString().trim().split('\n')));
    const { http, close } = providerHttp(5_000);
    (http.defaults.httpsAgent as HttpsAgent).options.ca = readFileSync(join(dirOfCerts, 'test-only-cert.pem'));
    let hookEnded = 0;
    const unhook = beforeRequestBytes(() => {
      const t = Date.now();
      while (Date.now() - t < 200); // holds the thread, as a slow disk write would
      hookEnded = Date.now();
    });
    try {
      while (!lines.some((l) => l.startsWith('port '))) await new Promise((r) => setTimeout(r, 10));
      const port = lines.find((l) => l.startsWith('port '))!.slice(5);
      await http.post(`https://127.0.0.1:${port}/`, { a: 1 });
      while (!lines.some((l) => l.startsWith('data '))) await new Promise((r) => setTimeout(r, 10));
      const arrived = Number(lines.find((l) => l.startsWith('data '))!.slice(5));
      expect(hookEnded).toBeGreaterThan(0);
      expect(arrived).toBeGreaterThanOrEqual(hookEnded);
    } finally {
      unhook();
      close();
      server.kill();
    }
  });

  it('never records a send that made no request; close() writes what is recorded, as a kill would find it', async () => {
    const j = SendJournal.create(dir, 'sock1');
    void j.posted(9, 1, true);
    j.settled(9); // answered without a request (a halt, a render error): no line needed
    const before = written();
    void j.posted(10, 1, true);
    j.close();
    expect(before).toBe('');
    expect(written()).toBe('10.1\n');
  });
});
