// readBody is shared: Ponte's server stops at the limit, the sandboxes still drain to the end.
import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readBody } from '../../src/server/read-body.js';

function fakeRequest(headers: Record<string, string> = {}): PassThrough & IncomingMessage {
  return Object.assign(new PassThrough(), { headers }) as unknown as PassThrough & IncomingMessage;
}

describe('readBody', () => {
  it('returns a body within the limit whole, in both modes', async () => {
    for (const opts of [{}, { stopWhenTooLarge: true }]) {
      const req = fakeRequest({ 'content-length': '6' });
      const body = readBody(req, 6, opts);
      req.write('abc');
      req.end('def');
      expect((await body)?.toString()).toBe('abcdef');
    }
  });

  it('by default drains an oversized body to its end before answering null (the sandboxes)', async () => {
    const req = fakeRequest();
    let settled = false;
    const body = readBody(req, 4, {}).finally(() => { settled = true; });
    req.write('abcdef');
    await new Promise((r) => setImmediate(r));
    expect(settled).toBe(false);
    req.end('gh');
    expect(await body).toBeNull();
    expect(req.readableEnded).toBe(true);
  });

  it('with stopWhenTooLarge answers null on the declared length, reading nothing', async () => {
    const req = fakeRequest({ 'content-length': '5' });
    req.write('abcde');
    expect(await readBody(req, 4, { stopWhenTooLarge: true })).toBeNull();
    expect(req.readableLength).toBe(5); // still unread
  });

  it('with stopWhenTooLarge answers null once the bytes read pass the limit, body unfinished', async () => {
    const req = fakeRequest();
    const body = readBody(req, 4, { stopWhenTooLarge: true });
    req.write('abc');
    req.write('de');
    expect(await body).toBeNull();
    expect(req.readableEnded).toBe(false);
    expect(req.isPaused()).toBe(true);
  });
});
