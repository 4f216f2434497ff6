// The proxy's freeze is what the frozen-connection drills rest on: it must hold bytes both ways
// without closing anything, hold new connections unanswered, and let everything flow on restore.
import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';

let echo: Server | undefined;
let proxy: TcpProxy | undefined;
const clients: Socket[] = [];
afterEach(async () => {
  for (const c of clients) c.destroy();
  clients.length = 0;
  await proxy?.close();
  await new Promise<void>((ok) => (echo ? echo.close(() => ok()) : ok()));
  echo = undefined;
  proxy = undefined;
});

async function world(): Promise<TcpProxy> {
  echo = createServer((s) => s.pipe(s));
  await new Promise<void>((ok) => echo!.listen(0, '127.0.0.1', () => ok()));
  proxy = await startTcpProxy({ host: '127.0.0.1', port: (echo.address() as { port: number }).port });
  return proxy;
}

function client(port: number): { socket: Socket; received: () => string; closed: () => boolean } {
  const socket = connect(port, '127.0.0.1');
  clients.push(socket);
  let text = '';
  let closed = false;
  socket.on('data', (d) => { text += d.toString(); });
  socket.on('close', () => { closed = true; });
  socket.on('error', () => undefined);
  return { socket, received: () => text, closed: () => closed };
}

const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));

describe('tcp proxy freeze', () => {
  it('holds open connections and new ones without closing them; restore lets the held bytes through', async () => {
    const p = await world();
    const a = client(p.port);
    a.socket.write('one;');
    await sleep(100);
    expect(a.received()).toBe('one;');

    await p.cut('freeze');
    a.socket.write('two;');
    // Far more than a pipe's high-water mark: a drain must not resume a frozen pair.
    a.socket.write('x'.repeat(256 * 1024));
    const b = client(p.port);
    b.socket.write('new;');
    await sleep(500);
    expect(a.received()).toBe('one;');
    expect(b.received()).toBe('');
    expect(a.closed() || b.closed()).toBe(false);

    await p.restore();
    const until = Date.now() + 5_000;
    while (Date.now() < until && (a.received().length < 8 + 256 * 1024 || b.received() !== 'new;')) await sleep(20);
    expect(a.received()).toBe(`one;two;${'x'.repeat(256 * 1024)}`);
    expect(b.received()).toBe('new;');
  });
});
