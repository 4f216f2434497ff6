// The AppIO channel against the IO sandbox, over real HTTP: exact payloads, outcomes, and the
// class of every failure the sandbox can inject.
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ChannelError } from '../../../src/channels/channel.js';
import { pino } from 'pino';
import { AppioChannel, fiscalCodeRef } from '../../../src/channels/appio/index.js';
import { startIoSandbox, type IoSandbox, type IoSandboxOptions } from '../../../src/sandbox/io/index.js';
import { MARKDOWN, SUBJECT, fiscalCode } from '../../sandbox/fixtures.js';
import { ENV, SANDBOX_KEYS, delivery, makeChannel, renderFixed } from './helpers.js';
import { failure } from '../contract.js';

const CF = fiscalCode(100);
const MESSAGE = { subject: SUBJECT, markdown: MARKDOWN, language: 'it' };

let sandbox: IoSandbox | undefined;
let channel: AppioChannel | undefined;
const servers: Server[] = [];

async function setup(opts: IoSandboxOptions = {}, over: Parameters<typeof makeChannel>[1] = {}) {
  sandbox = await startIoSandbox({ keys: SANDBOX_KEYS, ...opts });
  channel = makeChannel(sandbox.url, over);
  return { sb: sandbox, ch: channel };
}

afterEach(async () => {
  channel?.close();
  await sandbox?.close();
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
  channel = sandbox = undefined;
});

describe('configuration', () => {
  it('names the missing environment variable and its service, never a key value', () => {
    const make = () =>
      new AppioChannel({
        baseUrl: 'http://127.0.0.1:9/api/v1',
        services: { anagrafe: { keyEnv: 'IO_KEY_ANAGRAFE' }, tributi: { keyEnv: 'IO_KEY_TRIBUTI_MISSING' } },
        render: renderFixed,
        env: ENV,
      });
    expect(make).toThrow(/IO_KEY_TRIBUTI_MISSING/);
    expect(make).toThrow(/"tributi"/);
    expect(make).not.toThrow(new RegExp(ENV.IO_KEY_ANAGRAFE));
  });

  it('rejects a defaultService that is not configured', () => {
    expect(() => makeChannel('http://127.0.0.1:9/api/v1', { defaultService: 'scuola' })).toThrow(/scuola/);
  });

  it('rejects limits for an owner no service has, and nonsense limits, naming the owner', () => {
    const url = 'http://127.0.0.1:9/api/v1';
    expect(() => makeChannel(url, { owners: { comun: { requests: 10, windowMs: 1000 } } })).toThrow(/owners\.comun/);
    expect(() => makeChannel(url, { owners: { comune: { requests: 0, windowMs: 1000 } } })).toThrow(
      /owners\.comune: .*requests/,
    );
  });
});

describe('logging', () => {
  it('never logs a fiscal code in clear, only its keyed ref', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
    const { sb, ch } = await setup({}, { logger });
    const ctx = delivery(CF);
    await ch.checkRecipient(ctx);
    const { providerId } = await ch.send(ctx, MESSAGE);
    await ch.status(ctx, providerId);
    sb.failNext(1, '429');
    await failure(ch.send(ctx, MESSAGE));
    expect(lines.length).toBeGreaterThanOrEqual(4);
    const all = lines.join('\n');
    expect(all).not.toContain(CF);
    expect(all).toContain(fiscalCodeRef(CF));
    // Not the unkeyed SHA-256, which anyone with a list of residents could match.
    expect(all).not.toContain(createHash('sha256').update(CF).digest('hex').slice(0, 12));
  });
});

describe('checkRecipient: POST /profiles', () => {
  it('a retry of the same delivery within 10 minutes reuses its passed check; later, or another delivery, asks IO again', async () => {
    let now = Date.UTC(2026, 11, 5, 9, 0, 0);
    const { sb, ch } = await setup({}, { now: () => now });
    const profiles = () => sb.requests.filter((r) => r.path === '/api/v1/profiles').length;
    expect(await ch.checkRecipient(delivery(CF))).toEqual({ ok: true, language: 'it' });
    sb.failNext(1, '500', 'submitMessage');
    await failure(ch.send(delivery(CF), MESSAGE));
    now += 9 * 60_000; // the persistent retry
    expect(await ch.checkRecipient(delivery(CF))).toEqual({ ok: true, language: 'it' });
    expect(profiles()).toBe(1);
    expect(await ch.checkRecipient({ ...delivery(CF), deliveryId: 2 })).toEqual({ ok: true, language: 'it' });
    expect(profiles()).toBe(2);
    now += 2 * 60_000; // 11 minutes after the first check: the citizen may have changed their mind
    await ch.checkRecipient(delivery(CF));
    expect(profiles()).toBe(3);
  });

  it('keeps only the passed checks a retry could still reuse: expired ones go, not only past 10,000', async () => {
    let now = Date.UTC(2026, 11, 5, 9, 0, 0);
    const { ch } = await setup({}, { now: () => now });
    for (let id = 1; id <= 30; id++) {
      await ch.checkRecipient({ ...delivery(fiscalCode(200 + id)), deliveryId: id });
      now += 60_000; // a steady stream: one finished delivery a minute
    }
    // Those of the last 10 minutes (a retry may come), not all 30.
    expect(ch.profileChecksKept).toBeLessThanOrEqual(11);
  });

  it('sends exactly {fiscal_code} with the service key and maps the three outcomes', async () => {
    const [blocked, absent, english] = [fiscalCode(101), fiscalCode(102), fiscalCode(103)];
    const { sb, ch } = await setup({
      citizens: { senderNotAllowed: [blocked], notFound: [absent], languages: { [english]: ['en_GB'] } },
    });
    expect(await ch.checkRecipient(delivery(CF))).toEqual({ ok: true, language: 'it' });
    expect(await ch.checkRecipient(delivery(english, { service: 'tributi' }))).toEqual({ ok: true, language: 'en' });
    expect(await ch.checkRecipient(delivery(blocked))).toEqual({ ok: false, reason: 'io: sender_allowed=false' });
    expect(await ch.checkRecipient(delivery(absent))).toEqual({ ok: false, reason: 'io: no IO profile' });
    expect(sb.requests.map(({ method, path, service, body }) => ({ method, path, service, body }))).toEqual([
      { method: 'POST', path: '/api/v1/profiles', service: 'anagrafe', body: { fiscal_code: CF } },
      { method: 'POST', path: '/api/v1/profiles', service: 'tributi', body: { fiscal_code: english } },
      { method: 'POST', path: '/api/v1/profiles', service: 'anagrafe', body: { fiscal_code: blocked } },
      { method: 'POST', path: '/api/v1/profiles', service: 'anagrafe', body: { fiscal_code: absent } },
    ]);
  });
});

describe('render', () => {
  it('wraps a failing renderer as a permanent ChannelError keeping its message', async () => {
    const { ch } = await setup({}, {
      render: () => {
        throw new Error('template appointment.reminder: missing field "date"');
      },
    });
    const err = await failure(Promise.resolve().then(() => ch.render(delivery(CF))));
    expect(err.errorClass).toBe('permanent');
    expect(err.message).toBe('template appointment.reminder: missing field "date"');
  });

  it("enforces IO's subject and markdown lengths before anything is sent", async () => {
    const { ch } = await setup({}, { render: () => ({ subject: 'Short', markdown: MARKDOWN, language: 'it' }) });
    const err = await failure(Promise.resolve().then(() => ch.render(delivery(CF))));
    expect(err.errorClass).toBe('permanent');
    expect(err.message).toMatch(/subject must be 10\.\.120 characters, it is 5/);
  });
});

describe('send: POST /messages', () => {
  it('sends exactly what describeSend shows, and returns the id IO created', async () => {
    const { sb, ch } = await setup();
    const ctx = delivery(CF, { service: 'tributi' });
    const described = ch.describeSend(ctx, MESSAGE);
    expect(described).toEqual({
      method: 'POST',
      url: `${sb.url}/messages`,
      headers: {
        'Content-Type': 'application/json',
        Accept: 'application/json',
        'Ocp-Apim-Subscription-Key': '<from $IO_KEY_TRIBUTI>',
      },
      body: { fiscal_code: CF, content: { subject: SUBJECT, markdown: MARKDOWN } },
    });
    expect(JSON.stringify(described)).not.toContain(ENV.IO_KEY_TRIBUTI);

    const { providerId } = await ch.send(ctx, MESSAGE);
    expect(sb.requests).toHaveLength(1);
    expect(sb.requests[0]).toMatchObject({ method: 'POST', path: '/api/v1/messages', status: 201, service: 'tributi' });
    expect(sb.requests[0]!.body).toEqual(described.body);
    expect(sb.messages).toEqual([
      expect.objectContaining({ id: providerId, fiscalCode: CF, service: 'tributi', owner: 'comune', subject: SUBJECT, markdown: MARKDOWN }),
    ]);
  });

  it('adds due_date from data.io_due_date, as a UTC instant', async () => {
    const { sb, ch } = await setup();
    await ch.send(delivery(CF, {}, { io_due_date: '2026-03-01T23:59:59+01:00' }), MESSAGE);
    expect(sb.messages[0]!.content).toEqual({ subject: SUBJECT, markdown: MARKDOWN, due_date: '2026-03-01T22:59:59.000Z' });
    const err = await failure(ch.send(delivery(CF, {}, { io_due_date: '2026-03-01' }), MESSAGE));
    expect(err.errorClass).toBe('permanent');
    expect(err.message).toContain('io_due_date');
  });

  it('refuses at render (the batch check) a due date without its offset, which the server would read in its own zone', async () => {
    const { sb, ch } = await setup();
    for (const bad of ['2026-03-01T23:59:59', '2026-03-01', 'domani']) {
      const err = await failure(Promise.resolve().then(() => ch.render(delivery(CF, {}, { io_due_date: bad }))));
      expect(err.errorClass, bad).toBe('permanent');
      expect(err.message, bad).toContain('io_due_date must be a date-time with its offset');
    }
    expect(ch.render(delivery(CF, {}, { io_due_date: '2026-03-01T22:59:59Z' })).subject).toBe(SUBJECT);
    expect(sb.requests).toHaveLength(0);
  });

  it('refuses an unknown service, naming it', async () => {
    const { sb, ch } = await setup();
    const err = await failure(ch.send(delivery(CF, { service: 'scuola' }), MESSAGE));
    expect(err.errorClass).toBe('permanent');
    expect(err.message).toContain('"scuola"');
    expect(sb.requests).toHaveLength(0);
  });
});

describe('status: GET /messages/{fiscal_code}/{id}', () => {
  it('maps ACCEPTED → accepted, then PROCESSED → processed', async () => {
    const { ch } = await setup({ processingDelayMs: 200 });
    const ctx = delivery(CF);
    const { providerId } = await ch.send(ctx, MESSAGE);
    expect(await ch.status(ctx, providerId)).toEqual({ state: 'accepted' });
    await vi.waitFor(async () => expect(await ch.status(ctx, providerId)).toEqual({ state: 'processed' }), {
      timeout: 5000,
      interval: 50,
    });
  });

  it('maps REJECTED and FAILED', async () => {
    const [rejected, failed] = [fiscalCode(104), fiscalCode(105)];
    const { ch } = await setup({ processingDelayMs: 0, citizens: { rejectOnProcess: [rejected], failOnProcess: [failed] } });
    const r = delivery(rejected);
    expect(await ch.status(r, (await ch.send(r, MESSAGE)).providerId)).toEqual({ state: 'rejected', reason: 'io: REJECTED' });
    const f = delivery(failed);
    expect(await ch.status(f, (await ch.send(f, MESSAGE)).providerId)).toEqual({ state: 'failed', reason: 'io: FAILED' });
  });

  it('reads with the sending service key: another service gets a permanent 403', async () => {
    const { ch } = await setup();
    const { providerId } = await ch.send(delivery(CF, { service: 'anagrafe' }), MESSAGE);
    const err = await failure(ch.status(delivery(CF, { service: 'tributi' }), providerId));
    expect(err).toMatchObject({ errorClass: 'permanent', detail: { status: 403 } });
    // The operator learns which service's key read it, and what that means.
    expect(err.message).toContain('sent by another service than IO service "tributi" (key from $IO_KEY_TRIBUTI)');
  });

  it('a status read of an id IO does not know (404) → permanent, saying a hand-confirmed id may be mistyped', async () => {
    const { ch } = await setup();
    const err = await failure(ch.status(delivery(CF), '01HQXK5Y3ZM8N9P2R4S6T8V0W1'));
    expect(err).toMatchObject({ errorClass: 'permanent', detail: { status: 404 } });
    expect(err.message).toContain('an id confirmed by hand may be mistyped');
    expect(err.message).not.toContain(CF);
  });

  it('maps THROTTLED (in the enum, never set by IO today) to accepted', async () => {
    // The sandbox never produces THROTTLED: a one-route stub answers it instead.
    const stub = createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ message: { id: 'X' }, status: 'THROTTLED' }));
    });
    servers.push(stub);
    await new Promise<void>((r) => stub.listen(0, '127.0.0.1', r));
    const port = (stub.address() as { port: number }).port;
    channel = makeChannel(`http://127.0.0.1:${port}/api/v1`);
    expect(await channel.status(delivery(CF), 'X')).toEqual({ state: 'accepted' });
  });
});

describe('error classes against injected faults', () => {
  it('500 on send → transient, nothing created', async () => {
    const { sb, ch } = await setup();
    sb.failNext(1, '500', 'submitMessage');
    const err = await failure(ch.send(delivery(CF), MESSAGE));
    expect(err).toMatchObject({ errorClass: 'transient', detail: { status: 500 } });
    expect(sb.messages).toHaveLength(0);
  });

  it('429 on send → transient with retryAfterMs from x-rate-limit-retry-after', async () => {
    const { sb, ch } = await setup();
    sb.failNext(1, '429', 'submitMessage');
    const err = await failure(ch.send(delivery(CF), MESSAGE));
    expect(err).toMatchObject({ errorClass: 'transient', detail: { status: 429, retryAfterMs: 1000 } });
  });

  it('a real 429 from the owner limit → transient, retryAfterMs within the window', async () => {
    const { sb, ch } = await setup({ limit: { requests: 1, windowMs: 60_000 } });
    await ch.checkRecipient(delivery(CF));
    const err = await failure(ch.checkRecipient(delivery(CF, { service: 'tributi' })));
    expect(err.errorClass).toBe('transient');
    expect(err.detail.retryAfterMs).toBeGreaterThanOrEqual(1000);
    expect(err.detail.retryAfterMs).toBeLessThanOrEqual(60_000);
    expect(sb.stats().comune?.real429).toBe(1);
  });

  it('timeout on send → uncertain, and IO did create the message', async () => {
    const { sb, ch } = await setup({ faults: { timeoutMs: 60_000 } }, { timeoutMs: 300 });
    sb.failNext(1, 'timeout', 'submitMessage');
    const err = await failure(ch.send(delivery(CF), MESSAGE));
    expect(err).toMatchObject({ errorClass: 'uncertain', detail: { code: 'ETIMEDOUT' } });
    expect(sb.messages).toHaveLength(1);
  });

  it('timeout on a profile check → transient', async () => {
    const { sb, ch } = await setup({ faults: { timeoutMs: 60_000 } }, { timeoutMs: 300 });
    sb.failNext(1, 'timeout', 'getProfile');
    expect((await failure(ch.checkRecipient(delivery(CF)))).errorClass).toBe('transient');
  });

  it('reset → uncertain on send (nothing was created, but the sender cannot know), transient on a profile check', async () => {
    const { sb, ch } = await setup();
    sb.failNext(1, 'reset', 'submitMessage');
    const onSend = await failure(ch.send(delivery(CF), MESSAGE));
    expect(onSend).toMatchObject({ errorClass: 'uncertain', detail: { code: 'ECONNRESET' } });
    expect(sb.messages).toHaveLength(0);
    sb.failNext(1, 'reset', 'getProfile');
    expect((await failure(ch.checkRecipient(delivery(CF)))).errorClass).toBe('transient');
  });

  it('500 on a status read → transient', async () => {
    const { sb, ch } = await setup();
    const { providerId } = await ch.send(delivery(CF), MESSAGE);
    sb.failNext(1, '500', 'getMessage');
    expect((await failure(ch.status(delivery(CF), providerId))).errorClass).toBe('transient');
  });

  it('400 from IO → permanent, with IO\'s reason and no fiscal code in clear', async () => {
    const { sb, ch } = await setup();
    const err = await failure(ch.send(delivery(CF), { ...MESSAGE, subject: 'Short' }));
    expect(err).toMatchObject({ errorClass: 'permanent', detail: { status: 400 } });
    expect(err.message).toContain('Invalid message structure');
    expect(err.message).toContain('content.subject');
    expect(err.message).not.toContain(CF);
    expect(sb.messages).toHaveLength(0);
  });

  it('an unknown subscription key (401) → halt, naming the service and its variable, never the key', async () => {
    const sb = (sandbox = await startIoSandbox({ keys: { [ENV.IO_KEY_ANAGRAFE]: { service: 'anagrafe', owner: 'comune' } } }));
    channel = makeChannel(sb.url);
    expect((await channel.checkRecipient(delivery(CF, { service: 'anagrafe' }))).ok).toBe(true);
    const err = await failure(channel.send(delivery(CF, { service: 'tributi' }), MESSAGE));
    expect(err.errorClass).toBe('halt');
    expect(err.detail.part).toBe('tributi'); // the halt stops that service only
    expect(err.message).toContain('Access denied due to invalid subscription key');
    expect(err.message).toContain('IO does not accept the key of IO service "tributi" (key from $IO_KEY_TRIBUTI)');
    expect(err.message).not.toContain(ENV.IO_KEY_TRIBUTI);
  });

  it("403 for a recipient outside a test-phase service's authorized ones → permanent, telling the operator why", async () => {
    const other = fiscalCode(101);
    const { sb, ch } = await setup({
      keys: { ...SANDBOX_KEYS, [ENV.IO_KEY_ANAGRAFE]: { service: 'anagrafe', owner: 'comune', authorizedRecipients: [CF] } },
    });
    expect((await ch.checkRecipient(delivery(CF))).ok).toBe(true);
    for (const err of [await failure(ch.checkRecipient(delivery(other))), await failure(ch.send(delivery(other), MESSAGE))]) {
      expect(err).toMatchObject({ errorClass: 'permanent', detail: { status: 403 } });
      expect(err.message).toContain('Recipient forbidden');
      expect(err.message).toContain('IO service "anagrafe" (key from $IO_KEY_ANAGRAFE)');
      expect(err.message).toContain('test phase');
      expect(err.message).not.toContain(other);
    }
    expect(sb.messages).toHaveLength(0);
  });

  it('connection refused → transient, even on send', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as { port: number }).port;
    await new Promise((r) => probe.close(r));
    channel = makeChannel(`http://127.0.0.1:${port}/api/v1`);
    const err = await failure(channel.send(delivery(CF), MESSAGE));
    expect(err).toMatchObject({ errorClass: 'transient', detail: { code: 'ECONNREFUSED' } });
  });

  it('an abort while waiting for the rate window → transient, nothing sent', async () => {
    const { sb, ch } = await setup({}, { owners: { comune: { requests: 1, windowMs: 60_000 } } });
    await ch.checkRecipient(delivery(CF));
    const controller = new AbortController();
    const pending = failure(ch.send({ ...delivery(CF), signal: controller.signal }, MESSAGE));
    controller.abort();
    expect((await pending).errorClass).toBe('transient');
    expect(sb.requests).toHaveLength(1);
  });
});
