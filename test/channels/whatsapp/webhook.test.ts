// The webhook helpers on Meta's own example payloads (test/fixtures/whatsapp): signatures over
// the raw bytes, parsing of every fixture, the subscription handshake.
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseWebhook, verifyHandshake, verifySignature } from '../../../src/channels/whatsapp/index.js';
import { fixture } from './helpers.js';

const SECRET = 'app-secret';
const sign = (raw: Buffer, secret = SECRET) => `sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`;

describe('verifySignature', () => {
  const raw = fixture('status-sent-v24.json');

  it('accepts the HMAC-SHA256 of the raw bytes with the app secret', () => {
    expect(verifySignature(raw, sign(raw), SECRET)).toBe(true);
    expect(verifySignature(raw, sign(raw).toUpperCase().replace('SHA256=', 'sha256='), SECRET)).toBe(true);
  });

  it('refuses a missing, malformed or forged signature', () => {
    const valid = sign(raw);
    const cases: Array<[string, string | undefined]> = [
      ['missing', undefined],
      ['empty', ''],
      ['no prefix', valid.slice('sha256='.length)],
      ['sha1 prefix', valid.replace('sha256=', 'sha1=')],
      ['truncated', valid.slice(0, -2)],
      ['not hex', `sha256=${'z'.repeat(64)}`],
      ['forged with another secret', sign(raw, 'not-the-secret')],
      ['keyed with the verify token', sign(raw, 'my-verify-token')],
      ['one digit changed', valid.slice(0, -1) + (valid.endsWith('0') ? '1' : '0')],
    ];
    for (const [what, header] of cases) expect(verifySignature(raw, header, SECRET), what).toBe(false);
    expect(verifySignature(raw, valid, ''), 'empty app secret').toBe(false);
  });

  it('refuses a body altered by one byte', () => {
    const altered = Buffer.from(raw);
    altered[altered.indexOf('sent')] = 'S'.charCodeAt(0);
    expect(verifySignature(altered, sign(raw), SECRET)).toBe(false);
    expect(verifySignature(Buffer.concat([raw, Buffer.from(' ')]), sign(raw), SECRET)).toBe(false);
  });

  it('verifies escaped unicode on the raw bytes, which re-serialising would break', () => {
    // Meta signs its escaped-unicode serialisation: "Perché? äöå 😀" arrives as \u escapes.
    const raw = Buffer.from(
      '{"entry":[{"changes":[{"value":{"messages":[{"from":"393471234567","id":"wamid.X","type":"text","text":{"body":"Perch\\u00e9? \\u00e4\\u00f6\\u00e5 \\ud83d\\ude00 a\\/b"}}]},"field":"messages"}]}]}',
    );
    const header = sign(raw);
    expect(verifySignature(raw, header, SECRET)).toBe(true);
    const parsed = JSON.parse(raw.toString('utf8'));
    expect(parseWebhook(parsed).messages[0]!.text).toBe('Perché? äöå 😀 a/b');
    const reserialised = Buffer.from(JSON.stringify(parsed));
    expect(reserialised.equals(raw)).toBe(false);
    expect(verifySignature(reserialised, header, SECRET)).toBe(false);
  });
});

describe('parseWebhook on the fixtures', () => {
  const parse = (name: string) => parseWebhook(JSON.parse(fixture(name).toString('utf8')));

  it('status-sent (PMP pricing and conversation) and status-sent-v24 (neither) give the same update', () => {
    const expected = {
      wamid: 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=',
      status: 'sent',
      timestamp: 1750030073000,
      recipientId: '16505551234',
    };
    expect(parse('status-sent.json')).toEqual({ statuses: [expected], messages: [] });
    expect(parse('status-sent-v24.json')).toEqual({ statuses: [expected], messages: [] });
  });

  it('status-delivered', () => {
    expect(parse('status-delivered.json').statuses).toEqual([
      {
        wamid: 'wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3MTE5MjVBOTE3MDk5QUVFM0YA',
        status: 'delivered',
        timestamp: 1750263773000,
        recipientId: '16505551234',
      },
    ]);
  });

  it('status-failed, with the error code and title', () => {
    expect(parse('status-failed.json').statuses).toEqual([
      {
        wamid: 'wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI0QUQ2MjA4NEYyRkExNjMyREUA',
        status: 'failed',
        timestamp: 1751142888000,
        recipientId: '16505551234',
        errorCode: 131049,
        errorTitle: 'This message was not delivered to maintain healthy ecosystem engagement.',
      },
    ]);
  });

  it('inbound-text', () => {
    expect(parse('inbound-text.json')).toEqual({
      statuses: [],
      messages: [
        {
          id: 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=',
          from: '16505551234',
          fromE164: '+16505551234',
          timestamp: 1749416383000,
          type: 'text',
          text: 'Does it come in another color?',
        },
      ],
    });
  });
});

describe('parseWebhook beyond the fixtures', () => {
  const value = (v: Record<string, unknown>) => ({ value: { messaging_product: 'whatsapp', ...v }, field: 'messages' });

  it('reads every entry, change and array element, and our delivery id from biz_opaque_callback_data', () => {
    const body = {
      object: 'whatsapp_business_account',
      entry: [
        {
          changes: [
            value({
              statuses: [
                { id: 'wamid.A', status: 'read', timestamp: '1750000000', recipient_id: '393471234567', biz_opaque_callback_data: '42' },
                { id: 'wamid.B', status: 'delivered', timestamp: '1750000001', recipient_id: '393471234568', biz_opaque_callback_data: 'not-ours' },
              ],
            }),
            value({ statuses: [{ id: 'wamid.C', status: 'sent', timestamp: '1750000002', recipient_id: '393471234569' }] }),
          ],
        },
        { changes: [value({ statuses: [{ id: 'wamid.D', status: 'failed', timestamp: '1750000003', recipient_id: '1' }] })] },
      ],
    };
    const { statuses } = parseWebhook(body);
    expect(statuses.map((s) => [s.wamid, s.status, s.deliveryId])).toEqual([
      ['wamid.A', 'read', 42],
      ['wamid.B', 'delivered', undefined],
      ['wamid.C', 'sent', undefined],
      ['wamid.D', 'failed', undefined],
    ]);
  });

  it('reads button taps and interactive replies with their ids and context', () => {
    const messages = [
      { from: '393471234567', id: 'wamid.1', timestamp: '1750000000', type: 'button', context: { from: '15550783881', id: 'wamid.OURS' }, button: { text: 'Annulla', payload: 'ANNULLA:PRT-42' } },
      { from: '393471234567', id: 'wamid.2', timestamp: '1750000000', type: 'interactive', interactive: { type: 'button_reply', button_reply: { id: 'yes', title: 'Sì' } } },
      { from: '393471234567', id: 'wamid.3', timestamp: '1750000000', type: 'interactive', interactive: { type: 'list_reply', list_reply: { id: 'row-2', title: 'Martedì', description: 'x' } } },
      { from: '393471234567', id: 'wamid.4', timestamp: '1750000000', type: 'unsupported', errors: [{ code: 131051 }] },
    ];
    const parsed = parseWebhook({ entry: [{ changes: [value({ messages })] }] }).messages;
    expect(parsed.map(({ id, type, text, replyId, contextId }) => ({ id, type, text, replyId, contextId }))).toEqual([
      { id: 'wamid.1', type: 'button', text: 'Annulla', replyId: 'ANNULLA:PRT-42', contextId: 'wamid.OURS' },
      { id: 'wamid.2', type: 'interactive', text: 'Sì', replyId: 'yes', contextId: undefined },
      { id: 'wamid.3', type: 'interactive', text: 'Martedì', replyId: 'row-2', contextId: undefined },
      { id: 'wamid.4', type: 'unsupported', text: undefined, replyId: undefined, contextId: undefined },
    ]);
  });

  it('tolerates garbage: skips what has no id, never throws', () => {
    for (const body of [null, 'x', 42, [], {}, { entry: 'x' }, { entry: [null, { changes: [null, { value: null }] }] }]) {
      expect(parseWebhook(body)).toEqual({ statuses: [], messages: [] });
    }
    const body = {
      entry: [
        {
          changes: [
            value({
              statuses: [{ status: 'sent' }, { id: 'wamid.X', status: 'deleted' }, { id: 'wamid.Y', status: 'sent' }],
              messages: [{ id: 'wamid.M' }, { id: 'wamid.N', from: '393471234567' }],
            }),
            { field: 'message_template_status_update', value: { statuses: [{ id: 'wamid.Z', status: 'sent' }] } },
          ],
        },
      ],
    };
    const { statuses, messages } = parseWebhook(body);
    expect(statuses).toEqual([{ wamid: 'wamid.Y', status: 'sent', timestamp: expect.any(Number), recipientId: '' }]);
    expect(messages).toEqual([{ id: 'wamid.N', from: '393471234567', fromE164: '+393471234567', timestamp: expect.any(Number), type: 'unknown' }]);
  });
});

describe('verifyHandshake', () => {
  const query = (s: string) => new URLSearchParams(s);

  it('answers 200 with the raw challenge when mode and token match', () => {
    expect(verifyHandshake(query('hub.mode=subscribe&hub.verify_token=tok-123&hub.challenge=1158201444'), 'tok-123')).toEqual({
      status: 200,
      body: '1158201444',
    });
  });

  it('answers 403 otherwise', () => {
    for (const q of [
      'hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1',
      'hub.mode=unsubscribe&hub.verify_token=tok-123&hub.challenge=1',
      'hub.verify_token=tok-123&hub.challenge=1',
      'hub.mode=subscribe&hub.challenge=1',
      'hub.mode=subscribe&hub.verify_token=tok-123',
      'hub.mode=subscribe&hub.verify_token=tok-1234&hub.challenge=1',
    ]) {
      expect(verifyHandshake(query(q), 'tok-123'), q).toEqual({ status: 403 });
    }
    expect(verifyHandshake(query('hub.mode=subscribe&hub.verify_token=&hub.challenge=1'), ''), 'empty token configured').toEqual({
      status: 403,
    });
  });
});
