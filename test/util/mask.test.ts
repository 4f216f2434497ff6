import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import axios from 'axios';
import { describe, expect, it } from 'vitest';
import { maskDeep, maskFiscalCode, maskPhone, maskText, WHOLE_DOCUMENT_DEPTH } from '../../src/util/mask.js';

describe('maskFiscalCode / maskPhone', () => {
  it('keeps the first 3 and the last character of a fiscal code', () => {
    expect(maskFiscalCode('RSSMRA85T10A562S')).toBe('RSS************S');
    expect(maskFiscalCode('ABC')).toBe('***');
  });

  it('keeps an international prefix and the last 2 digits of a phone', () => {
    expect(maskPhone('+39 333 123 4567')).toBe('+39********67');
    expect(maskPhone('0039 333.123.4567')).toBe('0039********67');
    expect(maskPhone('333-1234567')).toBe('********67');
  });
});

describe('maskText', () => {
  it('masks fiscal codes in text, any case, omocodic too', () => {
    expect(maskText('cf=RSSMRA85T10A562S ok')).toBe('cf=RSS************S ok');
    expect(maskText('for rssmra85t10a562s.')).toBe('for rss************s.');
    expect(maskText('omocodic RSSMRAURTLMALNPY')).toBe('omocodic RSS************Y');
    expect(maskText('/messages/RSSMRA85T10A562S/01JD5X9K3M7QW2E8R4T6Y0ZB1C')).toBe(
      '/messages/RSS************S/01JD5X9K3M7QW2E8R4T6Y0ZB1C',
    );
    expect(maskText('key_RSSMRA85T10A562S')).toBe('key_RSS************S');
  });

  it.each([
    ['cf RSS MRA 80A01 H501U.', 'cf RSS *** ***** ****U.'],
    ['cf rss-mra-80a01-h501u', 'cf rss-***-*****-****u'],
    ['cf: RSSMRA 80A01 H501U', 'cf: RSS*** ***** ****U'],
    ['cf RSS MRA 80 A 01 H 501 U', 'cf RSS *** ** * ** * *** U'],
    // omocodia: the rightmost digits replaced by letters, up to all seven (control character right).
    ['cf RSS-MRA-80A01-H50MM', 'cf RSS-***-*****-****M'],
    ['cf RSS MRA UR T LM A LNP Y', 'cf RSS *** ** * ** * *** Y'],
  ])('masks the fiscal code written in groups in %j', (input, expected) => {
    expect(maskText(input)).toBe(expected);
    expect(maskText(expected)).toBe(expected);
  });

  it.each([
    // a letter where a digit stands left of a digit: not how omocodia replaces them.
    'cf RSS MRA 8LA01 H501U',
    // short words in a code's shape, but all letters with a wrong control character.
    'the one tv a st a lll y',
    // separators mixed, or not between the code's parts.
    'RSS MRA-80A01 H501U',
    'RS SMRA 80A01 H501U',
    'kebab-cased-words-in-a-config-key',
  ])('does not take %j for a fiscal code', (input) => {
    expect(maskText(input)).toBe(input);
  });

  it.each([
    ['call +39 333 123 4567 now', 'call +39********67 now'],
    ['call +393331234567', 'call +39********67'],
    ['tel 0039 333 1234567', 'tel 0039********67'],
    ['cell: 333 123 4567', 'cell: ********67'],
    ['cell 333.123.4567', 'cell ********67'],
    ['cell 333-1234567', 'cell ********67'],
    ['cell 333/1234567', 'cell ********67'],
    ['cell 3331234567', 'cell ********67'],
    ['"phone":"3331234567"', '"phone":"********67"'],
    ['Tel.3331234567', 'Tel.********67'],
    ['ufficio 06 1234 5678', 'ufficio ********78'],
    ['ufficio 02-12345678', 'ufficio ********78'],
    ['uk +44 20 7946 0958', 'uk +44********58'],
    // WhatsApp's wa_id / to / recipient_id: an Italian number with its country code, no "+".
    ['"wa_id":"393331234567"', '"wa_id":"**********67"'],
    ['from 39 333 123 4567', 'from **********67'],
    ['recipient_id 390612345678', 'recipient_id **********78'],
    // The mobile prefix set apart, as back-office forms store it.
    ['cell 333 - 1234567', 'cell ********67'],
    ['cell 333 / 1234567', 'cell ********67'],
    ['cell (333) 1234567', 'cell ********67'],
    // Glued to a label.
    ['tel3331234567', 'tel********67'],
    ['cell:3331234567', 'cell:********67'],
    ['p_393330000101', 'p_**********01'],
    ['{"k":"tel+393331234567"}', '{"k":"tel+39********67"}'],
    ['x-tel333 123 4567', 'x-tel********67'],
    ['tel+441632960961', 'tel+44********61'],
    ['{"k":"cell+49 1512 3456789"}', '{"k":"cell+49*********89"}'],
  ])('masks the phone in %j', (input, expected) => {
    expect(maskText(input)).toBe(expected);
  });

  it.each([
    '2026-11-24T10:00:00.000Z',
    '2026-11-24 10:00:00',
    'ULID 01JD5X9K3M7QW2E8R4T6Y0ZB1C',
    'uuid 550e8400-e29b-41d4-0716-044665544000',
    'uuid 3f0e8400-3123-4567-0123-456789012345',
    'delivery 123456',
    'delivery 1234567',
    'ids 3123456 and 0612345',
    'on 01-12-2026 and 24.11.2026 and 2026/11/24',
    'amount 300.000.000',
    'epoch 1732441200000',
    'version 1.3331234567',
    'AppuntamentoAnagrafe: conferma',
    'at 1796463252982',
    'ts=1796463252982 next=2026-12-25T09:30:00+01:00',
    '01M92RVNYRPTWJP0WT479HGTPN',
    'wamid.HBgLMzkzMzMxMjM0NTY3FQIAEhgWM0VCMDRDMzMxMjM0NTY3ODkwQUIA',
    'ULID 01M92RVNYR3331234567 and id AB12C3331234567',
    'uuid 550e8400-e29b-41d4-0716-ab3331234567',
    'dedup ztl:202:2026-12-25:30d',
    'took 3331234567ns, retry in 30s, window 3d',
    'SQLSTATE 23505 ER_DUP_ENTRY errno 1062 ORA-00001',
    'importo EUR333.50, €3331,20, 333,00 €',
    // zero-padded record keys glued to their prefix: an error must still name its row.
    'row PRAT00012345 and PRAT0612345678',
  ])('leaves %j intact', (input) => {
    expect(maskText(input)).toBe(input);
  });

  it.each([
    ['mysql://root:s3cr3t@db.comune.it:3306/anagrafe', 'mysql://root:****@db.comune.it:3306/anagrafe'],
    // Unencoded @ and # in the password: the very strings Node refuses as "Invalid URL".
    ['input "postgres://ponte:p@ss#w/rd@10.0.0.5/ponte" refused', 'input "postgres://ponte:****@10.0.0.5/ponte" refused'],
    ['Server=sql01,1433;Database=tributi;User Id=ponte;Password=s3cr3t;', 'Server=sql01,1433;Database=tributi;User Id=ponte;Password=****;'],
    ['Authorization: Bearer EAAGm0PX4ZCpsBAKZB', 'Authorization: Bearer ****'],
    ['Ocp-Apim-Subscription-Key: 0123456789abcdef\r\n', 'Ocp-Apim-Subscription-Key: ****\r\n'],
    ['{"Ocp-Apim-Subscription-Key":"0123456789abcdef"}', '{"Ocp-Apim-Subscription-Key":"****"}'],
  ])('masks the secret in %j', (input, expected) => {
    expect(maskText(input)).toBe(expected);
  });

  it.each([
    'Bearer <from $WHATSAPP_TOKEN>',
    'error: missing or wrong Bearer token',
    '{"Ocp-Apim-Subscription-Key":"<from $IO_KEY_ANAGRAFE>"}',
    '{"url":"http://127.0.0.1:46123/api/v1","msg":"x","privacy":"rpd@comune.example.it"}',
    'postgres://postgres@127.0.0.1:5432/test',
  ])('leaves %j (no secret in it) intact', (input) => {
    expect(maskText(input)).toBe(input);
  });

  it('masks a long run of letters (a base64 blob in a log line) in one pass', () => {
    // No stopwatch here: at 800 KB a quadratic match (23 s at 200 KB) would run for many minutes
    // and hit the test's timeout, where a linear one takes milliseconds.
    const blob = `data ${'QUJD'.repeat(100_000)} ${'a'.repeat(400_000)}3`;
    expect(maskText(blob)).toBe(blob);
  });

  it('masks every occurrence and is idempotent', () => {
    const once = maskText('RSSMRA85T10A562S +39 333 1234567 MRTMTT25D09F205Z 3339876543');
    expect(once).toBe('RSS************S +39********67 MRT************Z ********43');
    expect(maskText(once)).toBe(once);
  });
});

describe('maskDeep', () => {
  it('masks strings and keys in nested objects and arrays without mutating the input', () => {
    const input = {
      recipient: { fiscalCode: 'RSSMRA85T10A562S', phone: '+39 333 123 4567', language: 'it' },
      list: ['MRTMTT25D09F205Z', 42, true, null, { deep: ['3331234567'] }],
      byCf: { RSSMRA85T10A562S: 1 },
      at: '2026-11-24T10:00:00.000Z',
    };
    const snapshot = structuredClone(input);
    const out = maskDeep(input);
    expect(out).toEqual({
      recipient: { fiscalCode: 'RSS************S', phone: '+39********67', language: 'it' },
      list: ['MRT************Z', 42, true, null, { deep: ['********67'] }],
      byCf: { 'RSS************S': 1 },
      at: '2026-11-24T10:00:00.000Z',
    });
    expect(input).toEqual(snapshot);
  });

  it('is safe with cycles and keeps shared references shared', () => {
    const shared = { cf: 'RSSMRA85T10A562S' };
    const a: Record<string, unknown> = { shared, again: shared };
    a.self = a;
    const out = maskDeep(a) as Record<string, unknown> & { shared: { cf: string } };
    expect(out.shared.cf).toBe('RSS************S');
    expect(out.again).toBe(out.shared);
    expect(out.self).toBe(out);
    expect(a.self).toBe(a);
  });

  it('keeps Errors as Errors with masked message, stack and properties', () => {
    class HttpError extends Error {
      constructor(message: string, readonly url: string) {
        super(message);
        this.name = 'HttpError';
      }
    }
    const cause = new Error('profile RSSMRA85T10A562S not found');
    const err = new HttpError('send to RSSMRA85T10A562S failed', '/messages/RSSMRA85T10A562S');
    (err as Error & { cause?: unknown }).cause = cause;
    const out = maskDeep(err);
    expect(out).toBeInstanceOf(HttpError);
    expect(out).not.toBe(err);
    expect(out.message).toBe('send to RSS************S failed');
    expect(out.stack).toContain('send to RSS************S failed');
    expect(out.stack).not.toContain('RSSMRA85T10A562S');
    expect(out.url).toBe('/messages/RSS************S');
    expect((out.cause as Error).message).toBe('profile RSS************S not found');
    expect(err.message).toBe('send to RSSMRA85T10A562S failed');
    // Enumerability is preserved: message stays out of Object.keys, url stays in.
    expect(Object.keys(out)).toEqual(Object.keys(err));
  });

  it('uses toJSON (Dates) and survives a broken toJSON', () => {
    const when = new Date('2026-11-24T09:30:00.000Z');
    const broken = { cf: 'RSSMRA85T10A562S', toJSON() { throw new Error('nope'); } };
    expect(maskDeep({ when, broken })).toEqual({
      when: '2026-11-24T09:30:00.000Z',
      broken: { cf: 'RSS************S', toJSON: broken.toJSON },
    });
  });

  it('passes scalars through and masks a bare string', () => {
    expect(maskDeep(5)).toBe(5);
    expect(maskDeep(undefined)).toBeUndefined();
    expect(maskDeep('RSSMRA85T10A562S')).toBe('RSS************S');
  });

  it('cuts very deep structures instead of walking them', () => {
    let deep: Record<string, unknown> = { cf: 'RSSMRA85T10A562S' };
    for (let i = 0; i < 20; i++) deep = { next: deep };
    expect(JSON.stringify(maskDeep(deep))).not.toContain('RSSMRA85T10A562S');
    expect(JSON.stringify(maskDeep(deep))).toContain('[Too deep]');
  });

  it('walks deeper when asked (a dry run shows whole requests), still masking', () => {
    let deep: Record<string, unknown> = { cf: 'RSSMRA85T10A562S' };
    for (let i = 0; i < 20; i++) deep = { next: deep };
    const out = JSON.stringify(maskDeep(deep, { maxDepth: WHOLE_DOCUMENT_DEPTH }));
    expect(out).not.toContain('[Too deep]');
    expect(out).toContain('RSS************S');
    expect(out).not.toContain('RSSMRA85T10A562S');
  });

  it('shows secret-named keys as **** (headers, driver settings), but not our placeholders', () => {
    const out = maskDeep({
      headers: { Authorization: 'Bearer EAAGm0PX4ZCpsBAKZB', 'Ocp-Apim-Subscription-Key': 'k-0123456789', Accept: 'application/json' },
      connection: { host: 'db', password: 'hunter2hunter2' },
      dryRun: { Authorization: 'Bearer <from $WHATSAPP_TOKEN>', 'Ocp-Apim-Subscription-Key': '<from $IO_KEY_ANAGRAFE>' },
    });
    expect(out).toEqual({
      headers: { Authorization: '****', 'Ocp-Apim-Subscription-Key': '****', Accept: 'application/json' },
      connection: { host: 'db', password: '****' },
      dryRun: { Authorization: 'Bearer <from $WHATSAPP_TOKEN>', 'Ocp-Apim-Subscription-Key': '<from $IO_KEY_ANAGRAFE>' },
    });
  });

  it('reduces an axios error to message, code, method, URL and status: no key, no body, no socket', async () => {
    // A real provider answering 500: axios keeps the request config (headers with the key, the
    // body with the fiscal code and the wa_id), the ClientRequest (its raw header text) and the response.
    const server = createServer((req, res) => { req.resume(); req.on('end', () => { res.writeHead(500); res.end('{"detail":"down"}'); }); });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/messages`;
    let err: unknown;
    try {
      await axios.post(url, { fiscal_code: 'RSSMRA85T10A562S', to: '393331234567' }, { headers: { 'Ocp-Apim-Subscription-Key': 'io-key-0123456789' } });
    } catch (e) {
      err = e;
    } finally {
      server.close();
    }
    expect(axios.isAxiosError(err)).toBe(true);
    const out = maskDeep(err) as Error & Record<string, unknown>;
    expect(out).toBeInstanceOf(Error);
    expect({ ...out, message: out.message }).toEqual({ name: 'AxiosError', message: 'Request failed with status code 500', code: 'ERR_BAD_RESPONSE', method: 'POST', url, status: 500 });
    expect(out.stack).toContain('Request failed with status code 500');
    const all = JSON.stringify(out) + String(out.stack);
    for (const clear of ['io-key-0123456789', 'RSSMRA85T10A562S', '393331234567']) expect(all).not.toContain(clear);
  });

  it('masks the password in the connection string an "Invalid URL" error carries as `input`', () => {
    let err: unknown;
    try {
      new URL('mysql://ponte:s3cr3t@db.comune.it:99999/tributi');
    } catch (e) {
      err = e;
    }
    expect((err as { input?: string }).input).toContain('s3cr3t'); // what Node puts there
    const out = maskDeep(err) as Error & { input?: string };
    expect(out.input).toBe('mysql://ponte:****@db.comune.it:99999/tributi');
  });
});
