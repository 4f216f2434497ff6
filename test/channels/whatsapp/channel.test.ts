// The WhatsApp channel against the WhatsApp sandbox, over real HTTP: exact requests, the wamid,
// eligibility, status from the webhooks a receiver stored, free-form replies, logging.
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import { WhatsappChannel, phoneRef, type StoredStatus } from '../../../src/channels/whatsapp/index.js';
import type { WhatsappSandbox, WhatsappSandboxOptions } from '../../../src/sandbox/whatsapp/index.js';
import {
  PHONE_NUMBER_ID,
  TOKEN,
  delivery,
  makeChannel,
  mobile,
  startReceiver,
  startSandbox,
  type Receiver,
} from './helpers.js';
import { failure } from '../contract.js';

let sandbox: WhatsappSandbox | undefined;
let channel: WhatsappChannel | undefined;
let receiver: Receiver | undefined;

async function setup(opts: Partial<WhatsappSandboxOptions> = {}, over: Parameters<typeof makeChannel>[1] = {}) {
  receiver = await startReceiver();
  sandbox = await startSandbox({ webhookUrl: receiver.url, ...opts });
  channel = makeChannel(sandbox.url, { statuses: receiver.statuses, ...over });
  return { sb: sandbox, ch: channel, rc: receiver };
}

afterEach(async () => {
  channel?.close();
  await sandbox?.close();
  await receiver?.close();
  channel = sandbox = receiver = undefined;
});

describe('configuration', () => {
  it('names the missing token variable, never a value', () => {
    const make = () => makeChannel('http://127.0.0.1:9', { tokenEnv: 'WHATSAPP_TOKEN_COMUNE' });
    expect(make).toThrow(/WHATSAPP_TOKEN_COMUNE/);
    expect(() => makeChannel('http://127.0.0.1:9', { env: { WHATSAPP_TOKEN: '' } })).toThrow(/WHATSAPP_TOKEN/);
  });

  it('refuses a version or phone number id that cannot be right', () => {
    expect(() => makeChannel('http://127.0.0.1:9', { version: '24.0' })).toThrow(/version "24.0"/);
    expect(() => makeChannel('http://127.0.0.1:9', { phoneNumberId: '+39 347' })).toThrow(/phoneNumberId/);
    expect(() => makeChannel('http://127.0.0.1:9', { throughputPerSecond: 0 })).toThrow(/throughputPerSecond/);
  });
});

describe('send: POST /{version}/{phone-number-id}/messages', () => {
  it('sends exactly what describeSend shows, with the real token, and returns the wamid the sandbox created', async () => {
    const { sb, ch } = await setup();
    const ctx = delivery('347 123 4567');
    const message = ch.render(ctx);
    const described = ch.describeSend(ctx, message);
    const body = {
      messaging_product: 'whatsapp',
      recipient_type: 'individual',
      to: '+393471234567',
      type: 'template',
      biz_opaque_callback_data: '7',
      template: {
        name: 'promemoria_appuntamento',
        language: { code: 'it', policy: 'deterministic' },
        components: [
          {
            type: 'body',
            parameters: [
              { type: 'text', text: 'giovedì 3 dicembre 2026 alle 10:30' },
              { type: 'text', text: 'Anagrafe centrale' },
            ],
          },
          { type: 'button', sub_type: 'quick_reply', index: '0', parameters: [{ type: 'payload', payload: 'ANNULLA:PRT-42' }] },
        ],
      },
    };
    expect(described).toEqual({
      method: 'POST',
      url: `${sb.url}/v24.0/${PHONE_NUMBER_ID}/messages`,
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', Authorization: 'Bearer <from $WHATSAPP_TOKEN>' },
      body,
    });
    expect(JSON.stringify(described)).not.toContain(TOKEN);

    const { providerId } = await ch.send(ctx, message);
    expect(providerId).toMatch(/^wamid\.[A-Za-z0-9+/=]+$/);
    expect(sb.requests).toHaveLength(1);
    const req = sb.requests[0]!;
    expect(req).toMatchObject({ method: 'POST', path: `/v24.0/${PHONE_NUMBER_ID}/messages`, status: 200 });
    expect(req.body).toEqual(body);
    expect(req.headers).toEqual({
      host: expect.any(String),
      connection: 'keep-alive',
      'content-type': 'application/json',
      accept: 'application/json',
      authorization: `Bearer ${TOKEN}`,
      'user-agent': expect.stringMatching(/^axios\//),
      'content-length': String(Buffer.byteLength(JSON.stringify(body))),
      'accept-encoding': expect.any(String),
    });
    expect(sb.sends).toEqual([
      {
        wamid: providerId,
        to: '+393471234567',
        type: 'template',
        template: {
          name: 'promemoria_appuntamento',
          language: 'it',
          header: [],
          body: ['giovedì 3 dicembre 2026 alle 10:30', 'Anagrafe centrale'],
          buttons: ['ANNULLA:PRT-42'],
        },
        opaque: '7',
        at: expect.any(Number),
      },
    ]);
  });

  it('sends every written form of one Italian number as +39…', async () => {
    const { sb, ch } = await setup({}, { pairSpacingMs: 0 });
    for (const [i, written] of ['347 123 4567', '0039 347 123 4567', '+39 347-123-4567'].entries()) {
      const ctx = delivery(written, undefined, undefined, { deliveryId: i + 1 });
      await ch.send(ctx, ch.render(ctx));
    }
    expect(sb.sends.map((s) => s.to)).toEqual(['+393471234567', '+393471234567', '+393471234567']);
    expect(sb.requests.every((r) => r.status === 200)).toBe(true);
  });
});

describe('checkRecipient', () => {
  it('needs a phone, a valid one, and an opt-in from that number (asked in E.164)', async () => {
    const asked: string[] = [];
    const { sb, ch } = await setup({}, {
      consent: async (e164) => {
        asked.push(e164);
        return e164 === '+393471234567';
      },
    });
    expect(await ch.checkRecipient(delivery('347 123 4567'))).toEqual({ ok: true });
    expect(await ch.checkRecipient(delivery('347 765 4321'))).toEqual({ ok: false, reason: 'whatsapp: no opt-in from this number' });
    expect(await ch.checkRecipient(delivery(undefined))).toEqual({ ok: false, reason: 'whatsapp: no phone number' });
    expect(await ch.checkRecipient(delivery('12'))).toEqual({ ok: false, reason: 'whatsapp: phone number not valid' });
    expect(asked).toEqual(['+393471234567', '+393477654321']);
    expect(sb.requests).toHaveLength(0); // eligibility is ours alone: Meta has no contact check
    expect(ch.localCheck).toBe(true); // so the dispatcher runs it without a provider slot
  });

  it('a failing consent store is transient, and does not leak the number', async () => {
    const { ch } = await setup({}, {
      consent: async (e164) => {
        throw new Error(`db down while reading ${e164}`);
      },
    });
    const err = await failure(ch.checkRecipient(delivery('3471234567')));
    expect(err.errorClass).toBe('transient');
    expect(err.message).not.toContain('3471234567');
  });
});

describe('status: from the webhooks the receiver stored', () => {
  it('sent → accepted, then delivered/read → processed, from signed webhooks that echo our id', async () => {
    const { sb, ch, rc } = await setup({ statusDelayMs: 20 });
    const ctx = delivery(mobile(1), undefined, undefined, { deliveryId: 4242 });
    expect(await ch.status(ctx, 'wamid.unknown')).toEqual({ state: 'accepted' });
    const { providerId } = await ch.send(ctx, ch.render(ctx));
    await vi.waitFor(() => expect(rc.stored.get(providerId)?.status).toBe('sent'), { timeout: 5000, interval: 5 });
    await sb.idle();
    expect(await ch.status(ctx, providerId)).toEqual({ state: 'processed' });
    expect(rc.posts.every((p) => p.verified)).toBe(true);
    const echoed = sb.webhooks.map((w) => (w.body as any).entry[0].changes[0].value.statuses[0].biz_opaque_callback_data);
    expect(echoed).toEqual(['4242', '4242', '4242']);
  });

  it('a number not on WhatsApp: accepted by the send, then rejected (131026) so routing can fall back', async () => {
    const { sb, ch } = await setup({ notOnWhatsapp: [mobile(2)] });
    const ctx = delivery(mobile(2));
    const { providerId } = await ch.send(ctx, ch.render(ctx));
    await sb.idle();
    expect(await ch.status(ctx, providerId)).toEqual({ state: 'rejected', reason: `whatsapp: 131026 Message undeliverable — the number is not on WhatsApp, has not accepted WhatsApp's current terms, or has a very old app: reach the citizen another way` });
  });

  it('maps each stored status', async () => {
    const cases: Array<[StoredStatus | null, unknown]> = [
      [null, { state: 'accepted' }],
      [{ status: 'sent' }, { state: 'accepted' }],
      [{ status: 'delivered' }, { state: 'processed' }],
      [{ status: 'read' }, { state: 'processed' }],
      [{ status: 'failed', errorCode: 131026, errorTitle: 'Message undeliverable' }, { state: 'rejected', reason: `whatsapp: 131026 Message undeliverable — the number is not on WhatsApp, has not accepted WhatsApp's current terms, or has a very old app: reach the citizen another way` }],
      [{ status: 'failed', errorCode: 131050, errorTitle: 'User stopped marketing' }, { state: 'rejected', reason: 'whatsapp: 131050 User stopped marketing' }],
      [{ status: 'failed', errorCode: 130403 }, { state: 'rejected', reason: 'whatsapp: 130403' }],
      [{ status: 'failed', errorCode: 131049, errorTitle: 'Ecosystem' }, { state: 'rejected', reason: 'whatsapp: 131049 Ecosystem' }],
      [{ status: 'failed', errorCode: 132015, errorTitle: 'Template paused' }, { state: 'failed', reason: 'whatsapp: 132015 Template paused' }],
      [{ status: 'failed', errorCode: 131000, errorTitle: 'Something went wrong' }, { state: 'failed', reason: 'whatsapp: 131000 Something went wrong' }],
      [{ status: 'failed' }, { state: 'failed', reason: 'whatsapp: failed' }],
    ];
    for (const [stored, expected] of cases) {
      const ch = makeChannel('http://127.0.0.1:9', { statuses: async () => stored });
      // The reason starts with Meta's code and title; what follows (the operator's reading) is pinned in test/pipeline/whatsapp.test.ts.
      const got = await ch.status(delivery(mobile(1)), 'wamid.X') as { state: string; reason?: string };
      const want = expected as { state: string; reason?: string };
      expect(got.state, JSON.stringify(stored)).toBe(want.state);
      if (want.reason === undefined) expect(got.reason, JSON.stringify(stored)).toBeUndefined();
      else expect(got.reason?.startsWith(want.reason), `${JSON.stringify(stored)} → ${got.reason}`).toBe(true);
      ch.close();
    }
  });

  it('a failing status store is transient', async () => {
    const ch = makeChannel('http://127.0.0.1:9', {
      statuses: async () => {
        throw new Error('db down');
      },
    });
    expect(await failure(ch.status(delivery(mobile(1)), 'wamid.X'))).toMatchObject({ errorClass: 'transient' });
    ch.close();
  });
});

describe('sendText: free-form replies inside the 24 h window', () => {
  it('is refused outside the window (131047, permanent) and goes through after the citizen wrote', async () => {
    const { sb, ch, rc } = await setup();
    const err = await failure(ch.sendText('347 123 4567', 'Iscrizione confermata.'));
    expect(err).toMatchObject({ errorClass: 'permanent', detail: { status: 400, code: '131047' } });
    expect(sb.sends).toHaveLength(0);

    const inboundId = await sb.inbound('+393471234567', 'ISCRIVIMI');
    expect(rc.inbound).toEqual([expect.objectContaining({ id: inboundId, fromE164: '+393471234567', text: 'ISCRIVIMI' })]);
    const wamid = await ch.sendText(rc.inbound[0]!.fromE164, 'Iscrizione confermata.', { replyTo: inboundId });
    expect(sb.sends).toEqual([expect.objectContaining({ wamid, to: '+393471234567', type: 'text', text: 'Iscrizione confermata.' })]);
    expect(sb.requests.at(-1)!.body).toEqual({
      messaging_product: 'whatsapp',
      recipient_type: 'individual',
      to: '+393471234567',
      type: 'text',
      text: { preview_url: false, body: 'Iscrizione confermata.' },
      context: { message_id: inboundId },
    });
  });

  it('refuses a bad number or an empty or too long text before sending', async () => {
    const { sb, ch } = await setup();
    expect((await failure(ch.sendText('12', 'x'))).message).toBe('whatsapp: phone number cannot be normalised to E.164');
    expect((await failure(ch.sendText(mobile(1), ''))).errorClass).toBe('permanent');
    expect((await failure(ch.sendText(mobile(1), 'x'.repeat(4097)))).message).toContain('4097');
    expect(sb.requests).toHaveLength(0);
  });
});

describe('privacy', () => {
  it('never logs or reports a phone number or the token in clear', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
    const { sb, ch } = await setup({}, { logger, pairSpacingMs: 0 });
    const ctx = delivery('347 123 4567');
    await ch.send(ctx, ch.render(ctx));
    sb.failNext(1, 131026);
    const refused = await failure(ch.send(ctx, ch.render(ctx)));
    sb.failNext(1, 190);
    const halted = await failure(ch.send(ctx, ch.render(ctx)));
    expect(lines.length).toBeGreaterThanOrEqual(3);
    const all = [...lines, refused.message, halted.message].join('\n');
    for (const form of ['3471234567', '+393471234567', '393471234567', TOKEN]) expect(all).not.toContain(form);
    expect(lines.join('\n')).toContain(phoneRef('+393471234567'));
    // Not the unkeyed SHA-256 of the digits, which a brute force over the mobile range reverses.
    expect(all).not.toContain(createHash('sha256').update('393471234567').digest('hex').slice(0, 12));
  });
});
