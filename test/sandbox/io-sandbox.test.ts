// The IO sandbox answers like IO: real HTTP against it, as a plain client would call IO.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startIoSandbox, type IoSandbox, type IoSandboxOptions } from '../../src/sandbox/io/index.js';
import { MARKDOWN, SUBJECT, fiscalCode, get, post } from './fixtures.js';
import { loadValidators } from '../../src/sandbox/io/validate.js';
import { IoState } from '../../src/sandbox/io/state.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/temp-dir.js';

const CF = fiscalCode(1);
const message = (over: Record<string, unknown> = {}, content: Record<string, unknown> = {}) => ({
  fiscal_code: CF,
  content: { subject: SUBJECT, markdown: MARKDOWN, ...content },
  ...over,
});

let sandbox: IoSandbox | undefined;
async function start(opts: IoSandboxOptions = {}): Promise<IoSandbox> {
  sandbox = await startIoSandbox(opts);
  return sandbox;
}
afterEach(async () => {
  await sandbox?.close();
  sandbox = undefined;
});

describe('request validation against the IO spec', () => {
  it('rejects a 5-character subject with 400 ProblemJson naming the field', async () => {
    const sb = await start();
    const res = await post(`${sb.url}/messages`, message({}, { subject: 'Short' }));
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.body).toMatchObject({ title: 'Invalid message structure', status: 400 });
    expect(res.body.detail).toContain('root.content.subject');
    expect(sb.messages).toHaveLength(0);
  });

  it('rejects a malformed fiscal code, a too long markdown, an unknown enum value and a bad due_date', async () => {
    const sb = await start();
    const cases: Array<[unknown, string]> = [
      [message({ fiscal_code: 'RSSMRA80A01H50' }), 'root.fiscal_code'],
      [message({ fiscal_code: CF.toLowerCase() }), 'root.fiscal_code'],
      [message({}, { markdown: 'x'.repeat(10_001) }), 'root.content.markdown'],
      [message({ feature_level_type: 'PREMIUM' }), 'root.feature_level_type'],
      [message({}, { due_date: '2026-03-01' }), 'root.content.due_date'],
      [message({ time_to_live: 60 }), 'root.time_to_live'],
      [{ fiscal_code: CF }, 'root.content'],
    ];
    for (const [body, field] of cases) {
      const res = await post(`${sb.url}/messages`, body);
      expect(res.status, field).toBe(400);
      expect(res.body.detail, field).toContain(field);
    }
    expect(sb.messages).toHaveLength(0);
  });

  it('accepts the limits themselves (10 and 120 characters, 80 and 10000) and a UTC due_date', async () => {
    const sb = await start();
    for (const content of [
      { subject: 's'.repeat(10), markdown: 'm'.repeat(80) },
      { subject: 's'.repeat(120), markdown: 'm'.repeat(10_000), due_date: '2026-03-01T22:59:59.000Z' },
    ]) {
      expect((await post(`${sb.url}/messages`, message({}, content))).status).toBe(201);
    }
  });

  it('validates getProfile bodies and path fiscal codes', async () => {
    const sb = await start();
    const bad = await post(`${sb.url}/profiles`, { fiscal_code: 'NOTAFISCALCODE00' });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ title: 'Invalid FiscalCodePayload' });
    expect(bad.body.detail).toContain('root.fiscal_code');
    const badPath = await get(`${sb.url}/messages/NOTAFISCALCODE00/01ARZ3NDEKTSV4RRFFQ69G5FAV`);
    expect(badPath.status).toBe(400);
    expect(badPath.body.detail).toContain('fiscal_code');
  });

  it('answers 400 "Bad parameters" when the fiscal code is in both path and body, or in neither', async () => {
    const sb = await start();
    const both = await post(`${sb.url}/messages/${CF}`, message());
    expect(both.status).toBe(400);
    expect(both.body.title).toBe('Bad parameters');
    const neither = await post(`${sb.url}/messages`, message({ fiscal_code: undefined }));
    expect(neither.status).toBe(400);
    expect(neither.body.title).toBe('Bad parameters');
    // The deprecated form, fiscal code in the path only, still works.
    const inPath = await post(`${sb.url}/messages/${CF}`, message({ fiscal_code: undefined }));
    expect(inPath.status).toBe(201);
    expect(sb.messages.map((m) => m.fiscalCode)).toEqual([CF]);
  });

  it('rejects a body that is not JSON', async () => {
    const sb = await start();
    const res = await post(`${sb.url}/messages`, '{"fiscal_code": ');
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
  });
});

describe('APIM in front: routes, keys', () => {
  it('answers 401 without a key or with an unknown key, 404 on unknown routes', async () => {
    const sb = await start({ keys: { k1: { service: 'anagrafe', owner: 'comune' } } });
    expect((await post(`${sb.url}/profiles`, { fiscal_code: CF }, undefined)).status).toBe(401);
    expect((await post(`${sb.url}/profiles`, { fiscal_code: CF }, 'other')).status).toBe(401);
    expect((await post(`${sb.url}/profiles`, { fiscal_code: CF }, 'k1')).status).toBe(200);
    expect((await get(`${sb.url}/services`, 'k1')).status).toBe(404);
    expect((await get(`${sb.url.replace('/api/v1', '')}/messages`, 'k1')).status).toBe(404);
    expect(sb.requests.map((r) => r.status)).toEqual([401, 401, 200, 404, 404]);
  });

  it('a service in its test phase reaches only its authorized recipients: 403 "Recipient forbidden" for the others', async () => {
    const other = fiscalCode(9);
    const sb = await start({ keys: { k1: { service: 'anagrafe', owner: 'comune', authorizedRecipients: [CF] } } });
    for (const res of [
      await post(`${sb.url}/profiles`, { fiscal_code: other }, 'k1'),
      await get(`${sb.url}/profiles/${other}`, 'k1'),
      await post(`${sb.url}/messages`, message({ fiscal_code: other }), 'k1'),
      await post(`${sb.url}/messages/${other}`, message({ fiscal_code: undefined }), 'k1'),
    ]) {
      expect(res.status).toBe(403);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(res.body).toEqual({ title: 'Recipient forbidden', status: 403, detail: 'You are not allowed to issue requests for the recipient.' });
    }
    expect(sb.messages).toHaveLength(0);
    expect((await post(`${sb.url}/profiles`, { fiscal_code: CF }, 'k1')).status).toBe(200);
    expect((await post(`${sb.url}/messages`, message(), 'k1')).status).toBe(201);
  });
});

describe('profiles', () => {
  it('answers sender_allowed true/false, preferred languages, and 404 "Profile not found"', async () => {
    const [ok, blocked, absent, english] = [fiscalCode(2), fiscalCode(3), fiscalCode(4), fiscalCode(5)];
    const sb = await start({
      citizens: { senderNotAllowed: [blocked], notFound: [absent], languages: { [english]: ['en_GB', 'it_IT'] } },
    });
    expect((await post(`${sb.url}/profiles`, { fiscal_code: ok })).body).toEqual({
      sender_allowed: true,
      preferred_languages: ['it_IT'],
    });
    expect((await post(`${sb.url}/profiles`, { fiscal_code: blocked })).body.sender_allowed).toBe(false);
    expect((await post(`${sb.url}/profiles`, { fiscal_code: english })).body.preferred_languages).toEqual(['en_GB', 'it_IT']);
    const missing = await post(`${sb.url}/profiles`, { fiscal_code: absent });
    expect(missing.status).toBe(404);
    expect(missing.body.title).toBe('Profile not found');
    expect((await get(`${sb.url}/profiles/${ok}`)).body.sender_allowed).toBe(true);
  });
});

describe('messages', () => {
  it('creates a message: 201 {id} with Location, then ACCEPTED until processed, then PROCESSED', async () => {
    const sb = await start({ processingDelayMs: 100 });
    const created = await post(`${sb.url}/messages`, message());
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect(id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(created.headers.get('location')).toBe(`/api/v1/messages/${CF}/${id}`);
    expect(sb.messages).toEqual([
      expect.objectContaining({ id, fiscalCode: CF, service: 'test-key', owner: 'default', subject: SUBJECT, markdown: MARKDOWN }),
    ]);

    const first = await get(`${sb.url}/messages/${CF}/${id}`);
    expect(first.status).toBe(200);
    expect(first.body.status).toBe('ACCEPTED');
    expect(first.body.message).toMatchObject({ id, fiscal_code: CF, sender_service_id: 'test-key', feature_level_type: 'STANDARD' });

    await vi.waitFor(async () => expect((await get(`${sb.url}/messages/${CF}/${id}`)).body.status).toBe('PROCESSED'), {
      timeout: 5000,
      interval: 50,
    });
    const done = await get(`${sb.url}/messages/${CF}/${id}`);
    expect(done.body.message.content).toEqual({ subject: SUBJECT, markdown: MARKDOWN });
  });

  it('ends REJECTED for citizens without a profile, who blocked the sender, or configured so', async () => {
    const [absent, blocked, rejected] = [fiscalCode(6), fiscalCode(7), fiscalCode(8)];
    const sb = await start({
      processingDelayMs: 0,
      citizens: { notFound: [absent], senderNotAllowed: [blocked], rejectOnProcess: [rejected] },
    });
    for (const fc of [absent, blocked, rejected]) {
      const { body } = await post(`${sb.url}/messages`, message({ fiscal_code: fc }));
      expect((await get(`${sb.url}/messages/${fc}/${body.id}`)).body.status).toBe('REJECTED');
    }
  });

  it('answers 404 for an unknown id or another recipient, 403 to another service', async () => {
    const sb = await start({
      keys: { a: { service: 'anagrafe', owner: 'comune' }, b: { service: 'tributi', owner: 'comune' } },
    });
    const { body } = await post(`${sb.url}/messages`, message(), 'a');
    expect((await get(`${sb.url}/messages/${CF}/${body.id}`, 'a')).status).toBe(200);
    expect((await get(`${sb.url}/messages/${CF}/01ARZ3NDEKTSV4RRFFQ69G5FAV`, 'a')).status).toBe(404);
    expect((await get(`${sb.url}/messages/${fiscalCode(9)}/${body.id}`, 'a')).status).toBe(404);
    const other = await get(`${sb.url}/messages/${CF}/${body.id}`, 'b');
    expect(other.status).toBe(403);
    expect(other.body.detail).toContain('only read messages that you have sent');
  });
});

describe('rate limit per owner (APIM rate-limit-by-key)', () => {
  it('answers 429 with x-rate-limit-retry-after over the limit, shared by the services of one owner', async () => {
    const sb = await start({
      limit: { requests: 3, windowMs: 60_000 },
      keys: {
        a: { service: 'anagrafe', owner: 'comune' },
        b: { service: 'tributi', owner: 'comune' },
        c: { service: 'scuola', owner: 'altro-ente' },
      },
    });
    expect((await post(`${sb.url}/profiles`, { fiscal_code: CF }, 'a')).status).toBe(200);
    expect((await post(`${sb.url}/messages`, message(), 'b')).status).toBe(201);
    expect((await get(`${sb.url}/profiles/${CF}`, 'a')).status).toBe(200);
    const limited = await post(`${sb.url}/messages`, message(), 'b');
    expect(limited.status).toBe(429);
    const retryAfter = Number(limited.headers.get('x-rate-limit-retry-after'));
    expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60).toBe(true);
    expect(limited.headers.get('x-rate-limit-remaining')).toBe('0');
    // Another owner has its own budget.
    expect((await post(`${sb.url}/profiles`, { fiscal_code: CF }, 'c')).status).toBe(200);

    expect(sb.messages).toHaveLength(1);
    expect(sb.stats()).toEqual({
      comune: { accepted: 3, maxInAnyWindow: 3, real429: 1, injected: 0 },
      'altro-ente': { accepted: 1, maxInAnyWindow: 1, real429: 0, injected: 0 },
    });
  });
});

describe('fault injection', () => {
  it('500: ProblemJson 500, nothing created', async () => {
    const sb = await start();
    sb.failNext(1, '500', 'submitMessage');
    const res = await post(`${sb.url}/messages`, message());
    expect(res.status).toBe(500);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(sb.messages).toHaveLength(0);
    expect(sb.requests[0]).toMatchObject({ op: 'submitMessage', status: 500, injected: '500' });
  });

  it('429: retry after 1 second, nothing created, not counted as a real 429', async () => {
    const sb = await start();
    sb.failNext(1, '429');
    const res = await post(`${sb.url}/messages`, message());
    expect(res.status).toBe(429);
    expect(res.headers.get('x-rate-limit-retry-after')).toBe('1');
    expect(sb.messages).toHaveLength(0);
    expect(sb.stats().default).toMatchObject({ real429: 0, injected: 1 });
  });

  it('timeout: the message IS created, the response never comes in time', async () => {
    const sb = await start({ faults: { timeoutMs: 60_000 } });
    sb.failNext(1, 'timeout', 'submitMessage');
    const call = fetch(`${sb.url}/messages`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Ocp-Apim-Subscription-Key': 'k' },
      body: JSON.stringify(message()),
      signal: AbortSignal.timeout(300),
    });
    await expect(call).rejects.toThrow();
    expect(sb.messages).toHaveLength(1);
    expect(sb.requests[0]).toMatchObject({ status: 201, injected: 'timeout' });
  });

  it('reset: the connection is destroyed, nothing created', async () => {
    const sb = await start();
    sb.failNext(1, 'reset', 'submitMessage');
    await expect(post(`${sb.url}/messages`, message())).rejects.toThrow();
    expect(sb.messages).toHaveLength(0);
    expect(sb.requests[0]).toMatchObject({ status: 0, injected: 'reset' });
  });

  it('failNext only hits the operation it names, in order', async () => {
    const sb = await start();
    sb.failNext(2, '500', 'getMessage');
    expect((await post(`${sb.url}/profiles`, { fiscal_code: CF })).status).toBe(200);
    expect((await post(`${sb.url}/messages`, message())).status).toBe(201);
    const id = sb.messages[0]!.id;
    expect((await get(`${sb.url}/messages/${CF}/${id}`)).status).toBe(500);
    expect((await get(`${sb.url}/messages/${CF}/${id}`)).status).toBe(500);
    expect((await get(`${sb.url}/messages/${CF}/${id}`)).status).toBe(200);
  });

  it('random faults are reproducible from the seed', async () => {
    const sb = await start();
    const run = async () => {
      sb.setFaults({ rate500: 0.3, rate429: 0.3, seed: 42 });
      const statuses: number[] = [];
      for (let i = 0; i < 30; i++) statuses.push((await post(`${sb.url}/profiles`, { fiscal_code: CF })).status);
      return statuses;
    };
    const first = await run();
    expect(await run()).toEqual(first);
    expect(new Set(first)).toEqual(new Set([200, 429, 500]));
  });

  it('random faults can be limited to some operations', async () => {
    const sb = await start({ faults: { rate500: 1, ops: ['submitMessage'] } });
    expect((await post(`${sb.url}/profiles`, { fiscal_code: CF })).status).toBe(200);
    expect((await post(`${sb.url}/messages`, message())).status).toBe(500);
  });
});

describe('answers against the spec', () => {
  it('every answer, success or error, matches the schema the spec declares for its operation and status', async () => {
    const [absent, limitedOk, other] = [fiscalCode(40), fiscalCode(41), fiscalCode(42)];
    const sb = await start({
      processingDelayMs: 50,
      citizens: { notFound: [absent] },
      keys: {
        a: { service: 'anagrafe', owner: 'comune' },
        b: { service: 'tributi', owner: 'comune' },
        t: { service: 'test-phase', owner: 'comune', authorizedRecipients: [limitedOk] },
      },
    });
    const answers: Array<[string, { status: number; body: unknown }]> = [];
    const ask = async (operationId: string, res: Promise<{ status: number; body: unknown }>) => {
      const r = await res;
      answers.push([operationId, r]);
      return r;
    };
    await ask('getProfileByPOST', post(`${sb.url}/profiles`, { fiscal_code: CF }, 'a'));
    await ask('getProfileByPOST', post(`${sb.url}/profiles`, { fiscal_code: absent }, 'a'));
    await ask('getProfileByPOST', post(`${sb.url}/profiles`, { fiscal_code: 'nope' }, 'a'));
    await ask('getProfileByPOST', post(`${sb.url}/profiles`, { fiscal_code: other }, 't'));
    await ask('getProfile', get(`${sb.url}/profiles/${CF}`, 'a'));
    await ask('getProfile', get(`${sb.url}/profiles/${absent}`, 'a'));
    const created = await ask('submitMessageforUserWithFiscalCodeInBody', post(`${sb.url}/messages`, message(), 'a'));
    await ask('submitMessageforUserWithFiscalCodeInBody', post(`${sb.url}/messages`, message({}, { subject: 'x' }), 'a'));
    await ask('submitMessageforUserWithFiscalCodeInBody', post(`${sb.url}/messages`, message({ fiscal_code: other }), 't'));
    await ask('submitMessageforUser', post(`${sb.url}/messages/${CF}`, message({ fiscal_code: undefined }), 'a'));
    const id = (created.body as { id: string }).id;
    await ask('getMessage', get(`${sb.url}/messages/${CF}/${id}`, 'a')); // ACCEPTED
    await new Promise((r) => setTimeout(r, 80));
    await ask('getMessage', get(`${sb.url}/messages/${CF}/${id}`, 'a')); // PROCESSED, with content
    await ask('getMessage', get(`${sb.url}/messages/${CF}/${id}`, 'b'));
    await ask('getMessage', get(`${sb.url}/messages/${CF}/01HQXK5Y3ZM8N9P2R4S6T8V0W1`, 'a'));
    sb.failNext(1, '500');
    await ask('submitMessageforUserWithFiscalCodeInBody', post(`${sb.url}/messages`, message(), 'a'));

    expect(answers.map(([op, r]) => `${op} ${r.status}`)).toEqual([
      'getProfileByPOST 200', 'getProfileByPOST 404', 'getProfileByPOST 400', 'getProfileByPOST 403',
      'getProfile 200', 'getProfile 404',
      'submitMessageforUserWithFiscalCodeInBody 201', 'submitMessageforUserWithFiscalCodeInBody 400',
      'submitMessageforUserWithFiscalCodeInBody 403', 'submitMessageforUser 201',
      'getMessage 200', 'getMessage 200', 'getMessage 403', 'getMessage 404',
      'submitMessageforUserWithFiscalCodeInBody 500',
    ]);
    expect((answers[11]![1].body as { status: string }).status).toBe('PROCESSED');
    const v = loadValidators(['getProfileByPOST', 'getProfile', 'submitMessageforUserWithFiscalCodeInBody', 'submitMessageforUser', 'getMessage']);
    const invalid = answers.map(([op, r]) => [op, r.status, v.response(op, r.status, r.body)]).filter(([, , e]) => e !== null);
    expect(invalid).toEqual([]);
    // The check bites: a wrong status value, a profile without sender_allowed, a non-string title.
    expect(v.response('getMessage', 200, { message: (answers[11]![1].body as { message: unknown }).message, status: 'DELIVERED' })).toContain('response.status');
    expect(v.response('getProfileByPOST', 200, { preferred_languages: ['it_IT'] })).toContain('sender_allowed');
    expect(v.response('getMessage', 404, { title: 404 })).toContain('response.title');
  });
});

describe('what it remembers', () => {
  it('keeps only the latest requests when asked (the embedded sandbox), and every message still answers', async () => {
    const sb = await start({ keepRequests: 10, processingDelayMs: 0 });
    const ids: string[] = [];
    for (let i = 1; i <= 30; i++) {
      const created = await post(`${sb.url}/messages`, message({ fiscal_code: fiscalCode(i) }));
      expect(created.status).toBe(201);
      ids.push(created.body.id as string);
    }
    // Trimmed a tenth past the bound: never more than 11, always the latest.
    expect(sb.requests.length).toBeGreaterThanOrEqual(10);
    expect(sb.requests.length).toBeLessThanOrEqual(11);
    expect(sb.requests.at(-1)!.body).toMatchObject({ fiscal_code: fiscalCode(30) });
    expect(sb.requests.map((r) => (r.body as { fiscal_code: string }).fiscal_code)).toEqual(
      Array.from({ length: sb.requests.length }, (_, i) => fiscalCode(31 - sb.requests.length + i)),
    );
    // What it forgets is the record of requests, not IO's messages: the first is still read.
    expect((await get(`${sb.url}/messages/${fiscalCode(1)}/${ids[0]}`)).body.status).toBe('PROCESSED');
    expect(sb.messages).toHaveLength(30);
  });

  it('keeps every request by default (what tests judge by)', async () => {
    const sb = await start();
    for (let i = 1; i <= 15; i++) await post(`${sb.url}/profiles`, { fiscal_code: fiscalCode(i) });
    expect(sb.requests).toHaveLength(15);
  });
});

describe('messages it forgets (the embedded sandbox, after Ponte stops reading their status)', () => {
  const HOUR = 3_600_000;
  const created = (state: IoState, n: number, at: number) => state.createMessage({ fiscalCode: fiscalCode(n), service: 's', owner: 'o', subject: SUBJECT, markdown: MARKDOWN, content: { subject: SUBJECT, markdown: MARKDOWN }, timeToLive: 3600, featureLevelType: 'STANDARD' }, at);
  const lines = (file: string) => readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { fiscalCode: string }).fiscalCode);

  it('forgets messages older than the bound, in memory and in its file, as it runs and when it loads', () => {
    const dir = tempDir('io-state');
    const file = join(dir, 'io.jsonl');
    const now = Date.now();
    // Kept for ever by default: one message two hours old, one just now.
    const keeper = new IoState({}, 0, file);
    const old = created(keeper, 1, now - 2 * HOUR);
    const young = created(keeper, 2, now);
    expect(keeper.find(old.id)).toBeDefined();
    expect(lines(file)).toEqual([fiscalCode(1), fiscalCode(2)]);

    // Loaded with a bound of an hour: the old one is gone, from memory and from the file.
    const bounded = new IoState({}, 0, file, HOUR);
    expect(bounded.find(old.id)).toBeUndefined();
    expect(bounded.find(young.id)).toMatchObject({ fiscalCode: fiscalCode(2), status: 'PROCESSED' });
    expect(lines(file)).toEqual([fiscalCode(2)]);

    // As it runs: a message created more than a minute after the last look makes it look again.
    const third = created(bounded, 3, now + 2 * HOUR);
    expect(bounded.find(young.id)).toBeUndefined();
    expect(bounded.find(third.id)).toBeDefined();
    expect(lines(file)).toEqual([fiscalCode(3)]);
  });

  it('a rewrite keeps the young messages another command appended to the shared file since this one loaded it', () => {
    const dir = tempDir('io-state');
    const file = join(dir, 'io.jsonl');
    const now = Date.now();
    // `ponte run` in sandbox mode and a `ponte dispatch --once` beside it, on one state file.
    const daemon = new IoState({}, 0, file, HOUR);
    const once = new IoState({}, 0, file, HOUR);
    created(daemon, 1, now - 2 * HOUR);
    const fromOnce = created(once, 2, now);
    created(once, 3, now - 2 * HOUR + 60_000); // as old as one the daemon forgets: not kept either
    // The daemon's next look rewrites the file: the other command's young message stays in it.
    const fromDaemon = created(daemon, 4, now + 2 * 60_000);
    expect(lines(file)).toEqual([fiscalCode(2), fiscalCode(4)]);
    // And the daemon now answers for it too (a status poll may come to either).
    expect(daemon.find(fromOnce.id)).toMatchObject({ fiscalCode: fiscalCode(2) });
    expect(new IoState({}, 0, file, HOUR).find(fromDaemon.id)).toBeDefined();
  });

  it('the sandbox server takes the bound: what its state file held beyond it is not served', async () => {
    const dir = tempDir('io-state');
    const file = join(dir, 'io.jsonl');
    const keeper = new IoState({}, 0, file);
    created(keeper, 1, Date.now() - 3 * HOUR);
    created(keeper, 2, Date.now() - HOUR);
    const sb = await start({ stateFile: file, forgetMessagesAfterMs: 2 * HOUR });
    expect(sb.messages.map((m) => m.fiscalCode)).toEqual([fiscalCode(2)]);
  });
});
