import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import axios from 'axios';
import { createLogger } from '../../src/log/logger.js';

const CF = 'RSSMRA85T10A562S';
const CF2 = 'MRTMTT25D09F205Z';
const PHONE = '+39 333 123 4567';
// Any fiscal-code-shaped token, any case: none may reach the output.
const ANY_CF = /[A-Z]{6}[0-9LMNPQRSTUV]{2}[ABCDEHLMPRST][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]/i;

function capture(): { stream: Writable; lines: string[]; text: () => string } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      cb();
    },
  });
  return { stream, lines, text: () => lines.join('\n') };
}

function json(line: string | undefined): Record<string, any> {
  return JSON.parse(line ?? 'null');
}

const savedLevel = process.env.PONTE_LOG_LEVEL;
afterEach(() => {
  if (savedLevel === undefined) delete process.env.PONTE_LOG_LEVEL;
  else process.env.PONTE_LOG_LEVEL = savedLevel;
});

describe('createLogger (JSON)', () => {
  it('masks fiscal codes and phones in the message and in interpolated arguments', () => {
    const out = capture();
    const log = createLogger({ destination: out.stream });
    log.info(`sending to ${CF} at ${PHONE}`);
    log.info('profile %s phone %s', CF2, '3331234567');
    expect(json(out.lines[0]).msg).toBe('sending to RSS************S at +39********67');
    expect(json(out.lines[1]).msg).toBe('profile MRT************Z phone ********67');
    expect(out.text()).not.toMatch(ANY_CF);
  });

  it('masks nested fields, keys and child bindings', () => {
    const out = capture();
    const log = createLogger({ destination: out.stream }).child({ recipient: CF2 });
    log.warn({ event: { recipient: { fiscalCode: CF, phone: PHONE }, tags: [CF.toLowerCase()] }, byCf: { [CF]: 1 } }, 'queued');
    const line = json(out.lines[0]);
    expect(line.recipient).toBe('MRT************Z');
    expect(line.event).toEqual({ recipient: { fiscalCode: 'RSS************S', phone: '+39********67' }, tags: ['rss************s'] });
    expect(line.byCf).toEqual({ 'RSS************S': 1 });
    expect(line.msg).toBe('queued');
    expect(out.text()).not.toMatch(ANY_CF);
    expect(out.text()).not.toContain('333 123 4567');
  });

  it('masks Errors: message, stack, cause and own properties, logged bare or as err', () => {
    const out = capture();
    const log = createLogger({ destination: out.stream });
    const err = Object.assign(new Error(`IO refused ${CF}`, { cause: new Error(`no profile for ${CF2}`) }), {
      url: `/api/v1/messages/${CF}`,
    });
    log.error(err);
    log.error({ err, phone: PHONE }, `send failed for ${CF}`);

    const bare = json(out.lines[0]);
    expect(bare.msg).toBe('IO refused RSS************S');
    expect(bare.err.type).toBe('Error');
    expect(bare.err.message).toContain('IO refused RSS************S');
    expect(bare.err.message).toContain('no profile for MRT************Z');
    expect(bare.err.stack).toContain('IO refused RSS************S');
    expect(bare.err.url).toBe('/api/v1/messages/RSS************S');

    const wrapped = json(out.lines[1]);
    expect(wrapped.msg).toBe('send failed for RSS************S');
    expect(wrapped.err.message).toContain('IO refused RSS************S');
    expect(wrapped.phone).toBe('+39********67');

    expect(out.text()).not.toMatch(ANY_CF);
    // The caller's Error is left untouched.
    expect(err.message).toBe(`IO refused ${CF}`);
  });

  it('masks what a custom serializer produces (the written line itself is masked)', () => {
    const out = capture();
    const log = createLogger({ destination: out.stream }).child({}, { serializers: { who: () => `cf ${CF}` } });
    log.info({ who: 1 }, 'serialised');
    expect(json(out.lines[0]).who).toBe('cf RSS************S');
  });

  it('leaves timestamps, ULIDs and short ids readable', () => {
    const out = capture();
    const log = createLogger({ destination: out.stream });
    log.info({ at: '2026-11-24T10:00:00.000Z', id: '01JD5X9K3M7QW2E8R4T6Y0ZB1C' }, 'delivery 123456 sent');
    const line = json(out.lines[0]);
    expect(line).toMatchObject({ at: '2026-11-24T10:00:00.000Z', id: '01JD5X9K3M7QW2E8R4T6Y0ZB1C', msg: 'delivery 123456 sent' });
  });
});

describe('createLogger (secrets)', () => {
  it('logs an HTTP client error without the key, token or body its request config holds', async () => {
    // Nothing listens on port 1: axios fails with its config (headers, body) and the ClientRequest attached.
    const err = await axios.post('http://127.0.0.1:1/api/v1/messages', { fiscal_code: CF, to: '393331234567' }, {
      headers: { 'Ocp-Apim-Subscription-Key': 'io-key-0123456789', Authorization: 'Bearer wa-token-0123456789' },
    }).catch((e: unknown) => e);
    const out = capture();
    createLogger({ level: 'trace', destination: out.stream }).error({ err }, 'send failed');
    const line = json(out.lines[0]);
    expect(line.err).toMatchObject({ code: 'ECONNREFUSED', method: 'POST', url: 'http://127.0.0.1:1/api/v1/messages' });
    for (const clear of ['io-key-0123456789', 'wa-token-0123456789', CF, '393331234567']) expect(out.text()).not.toContain(clear);
  });
});

describe('createLogger levels', () => {
  it('defaults to info, reads PONTE_LOG_LEVEL, and the option wins over the env', () => {
    delete process.env.PONTE_LOG_LEVEL;
    expect(createLogger({ destination: capture().stream }).level).toBe('info');
    process.env.PONTE_LOG_LEVEL = 'DEBUG';
    expect(createLogger({ destination: capture().stream }).level).toBe('debug');
    expect(createLogger({ level: 'warn', destination: capture().stream }).level).toBe('warn');
  });

  it('filters below the level', () => {
    const out = capture();
    const log = createLogger({ level: 'warn', destination: out.stream });
    log.info('hidden');
    log.warn('shown');
    expect(out.lines.map((l) => json(l).msg)).toEqual(['shown']);
  });

  it('names the setting when the level is unknown', () => {
    process.env.PONTE_LOG_LEVEL = 'verbose';
    expect(() => createLogger()).toThrow('PONTE_LOG_LEVEL "verbose" is not a log level: use one of fatal, error, warn, info, debug, trace, silent');
    expect(() => createLogger({ level: 'loud' })).toThrow('log level "loud" is not a log level');
  });
});

describe('createLogger (pretty)', () => {
  it('writes human lines without pid/hostname, masked', async () => {
    const out = capture();
    const log = createLogger({ pretty: true, destination: out.stream });
    log.child({ run: 7 }).info({ recipient: { fiscalCode: CF, phone: PHONE } }, `hello ${CF2}`);
    // pino-pretty is a Transform: lines arrive asynchronously.
    for (let i = 0; i < 1000 && out.lines.length === 0; i++) await new Promise((r) => setImmediate(r));
    const text = out.text();
    expect(text).toMatch(/^\[\d{2}:\d{2}:\d{2}\] INFO: hello MRT\*{12}Z$/m);
    expect(text).toContain('RSS************S');
    expect(text).toContain('+39********67');
    expect(text).not.toMatch(/pid|hostname/);
    expect(text).not.toMatch(ANY_CF);
    expect(text).not.toContain('\u001b['); // not a TTY: no colours
  });
});
