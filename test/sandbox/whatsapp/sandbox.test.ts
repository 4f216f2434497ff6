// The WhatsApp sandbox answers like the Cloud API and posts webhooks like Meta: real HTTP
// against it, as a plain client would call graph.facebook.com, and a real receiver.
import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { parseWebhook, verifySignature } from '../../../src/channels/whatsapp/index.js';
import type { WhatsappSandbox, WhatsappSandboxOptions } from '../../../src/sandbox/whatsapp/index.js';
import { APP_SECRET, PHONE_NUMBER_ID, TOKEN, fixture, mobile, startReceiver, startSandbox, type Receiver } from '../../channels/whatsapp/helpers.js';

let sandbox: WhatsappSandbox | undefined;
let receiver: Receiver | undefined;

async function start(opts: Partial<WhatsappSandboxOptions> = {}) {
  receiver = await startReceiver();
  sandbox = await startSandbox({ webhookUrl: receiver.url, statusDelayMs: 10, ...opts });
  return { sb: sandbox, rc: receiver };
}

afterEach(async () => {
  await sandbox?.close();
  await receiver?.close();
  sandbox = receiver = undefined;
});

function template(to: string, over: Record<string, unknown> = {}) {
  return {
    messaging_product: 'whatsapp',
    recipient_type: 'individual',
    to,
    type: 'template',
    biz_opaque_callback_data: '314',
    template: {
      name: 'promemoria_appuntamento',
      language: { code: 'it', policy: 'deterministic' },
      components: [
        { type: 'header', parameters: [{ type: 'document', document: { link: 'https://comune.example/avviso.pdf', filename: 'avviso.pdf' } }] },
        {
          type: 'body',
          parameters: [
            { type: 'text', text: 'Mario' },
            { type: 'currency', currency: { fallback_value: '€16,00', code: 'EUR', amount_1000: 16000 } },
            { type: 'date_time', date_time: { fallback_value: '12 marzo 2027, 10:30' } },
          ],
        },
        { type: 'button', sub_type: 'url', index: '0', parameters: [{ type: 'text', text: 'PRT-2027-001' }] },
        { type: 'button', sub_type: 'quick_reply', index: '1', parameters: [{ type: 'payload', payload: 'CANCEL:42' }] },
      ],
    },
    ...over,
  };
}

const text = (to: string, body = 'Ciao') => ({ messaging_product: 'whatsapp', to, type: 'text', text: { body } });

async function post(sb: WhatsappSandbox, body: unknown, token: string | null = TOKEN) {
  const res = await fetch(`${sb.url}/v24.0/${PHONE_NUMBER_ID}/messages`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(token !== null ? { Authorization: `Bearer ${token}` } : {}) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json().catch(() => undefined)) as any };
}

/** The statuses[0] of every status webhook posted, in posting order. */
function postedStatuses(sb: WhatsappSandbox) {
  return sb.webhooks.filter((w) => w.kind === 'status').map((w) => (w.body as any).entry[0].changes[0].value.statuses[0]);
}

describe('POST /{version}/{phone-number-id}/messages', () => {
  it('accepts the template of whatsapp.md §1 and answers like Meta', async () => {
    const { sb } = await start();
    const res = await post(sb, template('+393471234567'));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      messaging_product: 'whatsapp',
      contacts: [{ input: '+393471234567', wa_id: '393471234567' }],
      messages: [{ id: expect.stringMatching(/^wamid\./) }],
    });
    expect(sb.sends).toEqual([
      {
        wamid: res.body.messages[0].id,
        to: '+393471234567',
        type: 'template',
        template: {
          name: 'promemoria_appuntamento',
          language: 'it',
          header: ['https://comune.example/avviso.pdf'],
          body: ['Mario', '€16,00', '12 marzo 2027, 10:30'],
          buttons: ['PRT-2027-001', 'CANCEL:42'],
        },
        opaque: '314',
        at: expect.any(Number),
      },
    ]);
  });

  it('given the approved templates, refuses another name or language (132001) and another body parameter count (132000), as Meta does', async () => {
    const { sb } = await start({ templates: { promemoria_appuntamento: { languages: ['it'], params: 3 } } });
    const to = mobile(1);
    const named = (name: string, code = 'it') => template(to, { template: { ...template(to).template, name, language: { code } } });
    expect(await post(sb, template(to))).toMatchObject({ status: 200 });
    expect(await post(sb, named('promemoria_appuntamenti'))).toMatchObject({ status: 400, body: { error: { code: 132001 } } });
    expect(await post(sb, named('promemoria_appuntamento', 'en'))).toMatchObject({ status: 400, body: { error: { code: 132001 } } });
    const short = template(to);
    short.template.components[1]!.parameters!.pop();
    const refused = await post(sb, short);
    expect(refused).toMatchObject({ status: 400, body: { error: { code: 132000 } } });
    expect(refused.body.error.error_data.details).toBe('body: number of localizable_params (2) does not match the expected number of params (3)');
    expect(sb.sends).toHaveLength(1);
  });

  it('401 with the 190 envelope for a missing or wrong token', async () => {
    const { sb } = await start();
    for (const token of [null, 'wrong']) {
      const res = await post(sb, template('+393471234567'), token);
      expect(res.status).toBe(401);
      expect(res.body).toEqual({
        error: {
          message: '(#190) Access token has expired',
          type: 'OAuthException',
          code: 190,
          error_data: { messaging_product: 'whatsapp', details: expect.any(String) },
          fbtrace_id: expect.any(String),
        },
      });
    }
    expect(sb.sends).toHaveLength(0);
  });

  it('refuses `to` without "+" with code 100, explaining why', async () => {
    const { sb } = await start();
    const res = await post(sb, template('393471234567'));
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 100, message: '(#100) Invalid parameter' });
    expect(res.body.error.error_data.details).toMatch(/^to: .*leading "\+".*country code/);
    expect(sb.sends).toHaveLength(0);
  });

  it('names the failing field of a malformed payload (131008 missing, 100 invalid, 132018 param text)', async () => {
    const { sb } = await start();
    const base = template('+393471234567');
    const cases: Array<[unknown, number, string]> = [
      [{ ...base, messaging_product: 'sms' }, 100, 'messaging_product'],
      [{ ...base, type: 'image' }, 100, 'type'],
      [{ ...base, template: { ...base.template, name: undefined } }, 131008, 'template.name'],
      [{ ...base, template: { ...base.template, language: {} } }, 131008, 'template.language.code'],
      [
        { ...base, template: { ...base.template, components: [{ type: 'body', parameters: [{ type: 'text', text: '' }] }] } },
        100,
        'template.components[0].parameters[0].text',
      ],
      [
        { ...base, template: { ...base.template, components: [{ type: 'body', parameters: [{ type: 'text', text: 'a\nb' }] }] } },
        132018,
        'template.components[0].parameters[0].text',
      ],
      [
        { ...base, template: { ...base.template, components: [{ type: 'button', sub_type: 'quick_reply', index: '0', parameters: [{ type: 'text', text: 'x' }] }] } },
        100,
        'template.components[0].parameters[0].type',
      ],
      [text('+393471234567', ''), 100, 'text.body'],
      ['{not json', 100, 'JSON'],
    ];
    for (const [body, code, field] of cases) {
      const res = await post(sb, body);
      expect(res.status, field).toBe(400);
      expect(res.body.error.code, field).toBe(code);
      expect(res.body.error.error_data.details, field).toContain(field);
    }
    expect(sb.sends).toHaveLength(0);
  });

  it('answers code 100 for another path or phone number id', async () => {
    const { sb } = await start();
    const res = await fetch(`${sb.url}/v24.0/999/messages`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(template('+393471234567')),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error.code).toBe(100);
  });
});

describe('the 24 h customer service window', () => {
  it('refuses free-form text outside it with 131047, allows it after inbound(), templates always', async () => {
    const { sb, rc } = await start();
    const before = await post(sb, text('+393471234567'));
    expect(before.status).toBe(400);
    expect(before.body.error).toMatchObject({ code: 131047, message: '(#131047) Re-engagement message' });
    expect((await post(sb, template('+393471234567'))).status).toBe(200);
    expect((await post(sb, text('+393471234567'))).status).toBe(400); // our own sends never open it

    const id = await sb.inbound('+393471234567', 'Perché?', { name: 'Mario Rossi' });
    expect((await post(sb, text('+393471234567'))).status).toBe(200);
    expect((await post(sb, text('+393479999999'))).status).toBe(400); // only for that number

    // The inbound webhook: the fixture's shape, `from` without "+", escaped unicode, signed.
    const hook = sb.webhooks.find((w) => w.kind === 'inbound')!;
    expect(hook.body).toEqual({
      object: 'whatsapp_business_account',
      entry: [
        {
          id: '102290129340398',
          changes: [
            {
              value: {
                messaging_product: 'whatsapp',
                metadata: { display_phone_number: '15550783881', phone_number_id: PHONE_NUMBER_ID },
                contacts: [{ profile: { name: 'Mario Rossi' }, wa_id: '393471234567' }],
                messages: [{ from: '393471234567', id, timestamp: expect.stringMatching(/^\d{10}$/), type: 'text', text: { body: 'Perché?' } }],
              },
              field: 'messages',
            },
          ],
        },
      ],
    });
    expect(hook.raw).toContain('Perch\\u00e9?');
    expect(hook.status).toBe(200);
    expect(rc.inbound).toEqual([expect.objectContaining({ id, fromE164: '+393471234567', text: 'Perché?', type: 'text' })]);
  });

  it('inbound() can be a quick-reply tap answering one of our messages', async () => {
    const { sb, rc } = await start();
    const id = await sb.inbound('+393471234567', 'Annulla', { buttonPayload: 'ANNULLA:PRT-42', contextId: 'wamid.OURS' });
    expect(rc.inbound).toEqual([expect.objectContaining({ id, type: 'button', text: 'Annulla', replyId: 'ANNULLA:PRT-42', contextId: 'wamid.OURS' })]);
  });
});

describe('status webhooks', () => {
  it('sent, delivered, read: signed with the app secret, v24 shape, our opaque id echoed', async () => {
    const { sb, rc } = await start();
    const { body } = await post(sb, template('+393471234567'));
    await sb.idle();
    const wamid = body.messages[0].id;
    expect(postedStatuses(sb)).toEqual(
      ['sent', 'delivered', 'read'].map((status) => ({
        id: wamid,
        status,
        timestamp: expect.stringMatching(/^\d{10}$/),
        recipient_id: '393471234567',
        biz_opaque_callback_data: '314',
        ...(status !== 'read' ? { pricing: { billable: true, pricing_model: 'PMP', type: 'regular', category: 'utility' } } : {}),
      })),
    );
    for (const w of sb.webhooks) {
      expect(verifySignature(Buffer.from(w.raw), w.signature, APP_SECRET)).toBe(true);
      expect(verifySignature(Buffer.from(w.raw), w.signature, 'another-secret')).toBe(false);
      expect(w.status).toBe(200);
    }
    expect(rc.posts.every((p) => p.verified)).toBe(true);
    expect(rc.stored.get(wamid)).toEqual({ status: 'read' });
  });

  it('notOnWhatsapp: the send is accepted, then sent → failed 131026', async () => {
    const { sb, rc } = await start({ notOnWhatsapp: ['+393470000001'] });
    const res = await post(sb, template('+393470000001'));
    expect(res.status).toBe(200);
    await sb.idle();
    const [sent, failed] = postedStatuses(sb);
    expect(postedStatuses(sb)).toHaveLength(2);
    expect(sent).toMatchObject({ status: 'sent', biz_opaque_callback_data: '314' });
    expect(failed).toMatchObject({
      id: res.body.messages[0].id,
      status: 'failed',
      recipient_id: '393470000001',
      errors: [{ code: 131026, title: 'Message undeliverable', message: 'Message undeliverable', error_data: { details: expect.any(String) } }],
    });
    expect(rc.stored.get(res.body.messages[0].id)).toMatchObject({ status: 'failed', errorCode: 131026 });
  });

  it('duplicate: every status is posted twice', async () => {
    const { sb } = await start({ statuses: { duplicate: true } });
    await post(sb, template('+393471234567'));
    await sb.idle();
    expect(postedStatuses(sb).map((s) => s.status)).toEqual(['sent', 'sent', 'delivered', 'delivered', 'read', 'read']);
    const raws = sb.webhooks.map((w) => w.raw);
    expect(raws[0]).toBe(raws[1]);
  });

  it('reorder: statuses are posted latest first, timestamps keep the true order', async () => {
    const { sb, rc } = await start({ statuses: { reorder: true }, statusDelayMs: 600 });
    const { body } = await post(sb, template('+393471234567'));
    await sb.idle();
    const posted = postedStatuses(sb);
    expect(posted.map((s) => s.status)).toEqual(['read', 'delivered', 'sent']);
    const [readAt, , sentAt] = posted.map((s): number => Number(s.timestamp));
    expect(readAt).toBeGreaterThan(sentAt!); // 1.2 s apart: different Unix seconds
    // A receiver keeping the highest status is not fooled by the order.
    expect(rc.stored.get(body.messages[0].id)).toEqual({ status: 'read' });
  });

  it('records what the receiver answered, and a missing webhook url', async () => {
    const { sb, rc } = await start();
    rc.answer = 500;
    await sb.inbound('+393471234567', 'ciao');
    expect(sb.webhooks.at(-1)).toMatchObject({ kind: 'inbound', status: 500 });
    sb.setWebhookUrl('');
    await sb.inbound('+393471234567', 'ciao');
    expect(sb.webhooks.at(-1)).toMatchObject({ status: 0, error: 'no webhook url set' });
  });
});

describe('postWebhook', () => {
  it('posts a fixture as is, validly signed, unsigned or forged', async () => {
    const { sb, rc } = await start();
    const raw = fixture('status-failed.json');
    for (const signature of ['valid', 'none', 'forged'] as const) await sb.postWebhook(raw, { signature });
    expect(rc.posts.map((p) => p.verified)).toEqual([true, false, false]);
    expect(rc.posts.every((p) => p.raw.equals(raw))).toBe(true);
    expect(sb.webhooks.map((w) => [w.signature === undefined, w.status])).toEqual([
      [false, 200],
      [true, 401],
      [false, 401],
    ]);
    const expected = `sha256=${createHmac('sha256', APP_SECRET).update(raw).digest('hex')}`;
    expect(sb.webhooks[0]!.signature).toBe(expected);
    expect(parseWebhook(sb.webhooks[0]!.body).statuses[0]).toMatchObject({ status: 'failed', errorCode: 131049 });
  });
});

describe('limits and injected faults', () => {
  it('pairLimitMs: a second message to the same number too soon → 131056, another number is fine', async () => {
    const { sb } = await start({ pairLimitMs: 60_000 });
    expect((await post(sb, template(mobile(1)))).status).toBe(200);
    const again = await post(sb, template(mobile(1)));
    expect(again.status).toBe(400);
    expect(again.body.error.code).toBe(131056);
    expect((await post(sb, template(mobile(2)))).status).toBe(200);
  });

  it('throughputPerSecond: over the limit → 130429', async () => {
    const { sb } = await start({ throughputPerSecond: 3 });
    const answers = await Promise.all(Array.from({ length: 5 }, (_, i) => post(sb, template(mobile(i)))));
    const codes = answers.map((a): number => a.body.error?.code ?? a.status).sort((x, y) => x - y);
    expect(codes).toEqual([200, 200, 200, 130429, 130429]);
    expect(sb.stats()).toEqual({ accepted: 3, maxInAnyWindow: 3, limited: 2 });
  });

  it('failNext: codes in order, a codeless 500, then back to normal', async () => {
    const { sb } = await start();
    sb.failNext(2, 130429);
    sb.failNext(1, null, { httpStatus: 502 });
    const a = await post(sb, template(mobile(1)));
    const b = await post(sb, template(mobile(1)));
    const c = await fetch(`${sb.url}/v24.0/${PHONE_NUMBER_ID}/messages`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(template(mobile(1))),
    });
    const d = await post(sb, template(mobile(1)));
    expect([a.body.error.code, b.body.error.code]).toEqual([130429, 130429]);
    expect(c.status).toBe(502);
    expect(c.headers.get('content-type')).toBe('text/html');
    expect(d.status).toBe(200);
    expect(sb.requests.map((r) => [r.status, r.code, r.injected])).toEqual([
      [400, 130429, 'error'],
      [400, 130429, 'error'],
      [502, undefined, 'error'],
      [200, undefined, undefined],
    ]);
    expect(sb.sends).toHaveLength(1);
  });

  it('failNext timeout creates the message and withholds the answer; reset creates nothing', async () => {
    const { sb } = await start({ timeoutMs: 60_000 });
    const send = (signal?: AbortSignal) =>
      fetch(`${sb.url}/v24.0/${PHONE_NUMBER_ID}/messages`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(template(mobile(1))),
        ...(signal ? { signal } : {}),
      });
    sb.failNext(1, null, { kind: 'timeout' });
    await expect(send(AbortSignal.timeout(300))).rejects.toThrow();
    expect(sb.sends).toHaveLength(1);
    await sb.idle();
    expect(postedStatuses(sb).map((s) => s.status)).toEqual(['sent', 'delivered', 'read']);

    sb.failNext(1, null, { kind: 'reset' });
    await expect(send()).rejects.toThrow();
    expect(sb.sends).toHaveLength(1);
    expect(sb.requests.map((r) => [r.injected, r.status])).toEqual([
      ['timeout', 200],
      ['reset', 0],
    ]);
  });
});

describe('the sandbox over HTTP, for a person trying a running ponte by hand', () => {
  it('POST /_sandbox/inbound posts a signed inbound webhook; GET /_sandbox/sends lists what was sent', async () => {
    const { sb, rc } = await start();
    const bad = await fetch(`${sb.url}/_sandbox/inbound`, { method: 'POST', body: JSON.stringify({ from: '3471234567', text: 'Ciao' }) });
    expect(bad.status).toBe(400);
    const ok = await fetch(`${sb.url}/_sandbox/inbound`, { method: 'POST', body: JSON.stringify({ from: '+393471234567', text: 'Ciao' }) });
    expect(ok.status).toBe(200);
    const { id } = (await ok.json()) as { id: string };
    await sb.idle();
    expect(rc.posts.every((p) => p.verified)).toBe(true);
    expect(rc.inbound.map((m) => [m.id, m.fromE164, m.text])).toEqual([[id, '+393471234567', 'Ciao']]);
    // The window it opened lets a free-form answer through, which the listing then shows.
    expect((await post(sb, text('+393471234567', 'Buongiorno'))).status).toBe(200);
    const sends = (await (await fetch(`${sb.url}/_sandbox/sends`)).json()) as Array<{ to: string; type: string; text: string }>;
    expect(sends.map((x) => [x.to, x.type, x.text])).toEqual([['+393471234567', 'text', 'Buongiorno']]);
  });
});
