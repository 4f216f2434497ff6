// The class of every failure the sandbox can inject, as the dispatcher will see it.
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ChannelError } from '../../../src/channels/channel.js';
import type { WhatsappChannel } from '../../../src/channels/whatsapp/index.js';
import type { WhatsappSandbox, WhatsappSandboxOptions } from '../../../src/sandbox/whatsapp/index.js';
import { delivery, makeChannel, mobile, startSandbox } from './helpers.js';

let sandbox: WhatsappSandbox | undefined;
let channel: WhatsappChannel | undefined;

async function setup(opts: Partial<WhatsappSandboxOptions> = {}, over: Parameters<typeof makeChannel>[1] = {}) {
  sandbox = await startSandbox(opts);
  channel = makeChannel(sandbox.url, over);
  return { sb: sandbox, ch: channel };
}

afterEach(async () => {
  channel?.close();
  await sandbox?.close();
  channel = sandbox = undefined;
});

/** Sends one template to `phone` at `attempt`; returns the ChannelError it must fail with. */
async function sendFailure(ch: WhatsappChannel, phone: string, attempt = 1): Promise<ChannelError> {
  const ctx = delivery(phone, undefined, undefined, { attempt });
  const err = await ch.send(ctx, ch.render(ctx)).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ChannelError);
  return err as ChannelError;
}

describe('Graph errors, by code', () => {
  it('130429 throughput → transient, retry after a second', async () => {
    const { sb, ch } = await setup();
    sb.failNext(1, 130429);
    const err = await sendFailure(ch, mobile(1));
    expect(err).toMatchObject({ errorClass: 'transient', detail: { status: 400, code: '130429', retryAfterMs: 1000 } });
    expect(err.message).toContain('(#130429) Rate limit hit');
  });

  it('131056 pair rate limit → transient after 4^X s: 1000, 4000, 16000 ms for attempts 1, 2, 3', async () => {
    const { sb, ch } = await setup();
    sb.failNext(3, 131056);
    const delays = [];
    for (const attempt of [1, 2, 3]) {
      const err = await sendFailure(ch, mobile(attempt), attempt);
      expect(err).toMatchObject({ errorClass: 'transient', detail: { code: '131056' } });
      delays.push(err.detail.retryAfterMs);
    }
    expect(delays).toEqual([1000, 4000, 16000]);
    expect(sb.requests).toHaveLength(3);
  });

  it('after a 131056 the recipient is held locally, other recipients go on', async () => {
    const { sb, ch } = await setup();
    sb.failNext(1, 131056);
    await sendFailure(ch, mobile(1), 2);
    const held = await sendFailure(ch, mobile(1), 3);
    expect(held).toMatchObject({ errorClass: 'transient', detail: { code: 'PAIR_SPACING' } });
    expect(held.detail.retryAfterMs).toBeGreaterThan(3000);
    expect(held.detail.retryAfterMs).toBeLessThanOrEqual(4000);
    const ctx = delivery(mobile(2));
    await ch.send(ctx, ch.render(ctx));
    expect(sb.requests.map((r) => r.status)).toEqual([400, 200]); // the held send never left
  });

  it('131026 answered synchronously → permanent, nothing created', async () => {
    const { sb, ch } = await setup();
    sb.failNext(1, 131026);
    const err = await sendFailure(ch, mobile(1));
    expect(err).toMatchObject({ errorClass: 'permanent', detail: { status: 400, code: '131026' } });
    expect(sb.sends).toHaveLength(0);
  });

  it('190 expired token → halt', async () => {
    const { sb, ch } = await setup();
    sb.failNext(1, 190);
    expect(await sendFailure(ch, mobile(1))).toMatchObject({ errorClass: 'halt', detail: { status: 401, code: '190' } });
  });

  it('a token the sandbox does not know → 401 with 190 → halt', async () => {
    const { ch } = await setup({ token: 'another-token' });
    expect(await sendFailure(ch, mobile(1))).toMatchObject({ errorClass: 'halt', detail: { status: 401, code: '190' } });
  });

  it('131000 with a 500 → transient (Meta says try again)', async () => {
    const { sb, ch } = await setup();
    sb.failNext(1, 131000);
    expect(await sendFailure(ch, mobile(1))).toMatchObject({ errorClass: 'transient', detail: { status: 500, code: '131000' } });
  });

  it('132001 unknown template → permanent; 131048 spam limit → halt', async () => {
    const { sb, ch } = await setup();
    sb.failNext(1, 132001);
    sb.failNext(1, 131048);
    expect(await sendFailure(ch, mobile(1))).toMatchObject({ errorClass: 'permanent', detail: { code: '132001' } });
    expect(await sendFailure(ch, mobile(2))).toMatchObject({ errorClass: 'halt', detail: { code: '131048' } });
  });
});

describe('answers without a code', () => {
  it('500 without a code → uncertain: Meta may have accepted it', async () => {
    const { sb, ch } = await setup();
    sb.failNext(1, null, { httpStatus: 500 });
    const err = await sendFailure(ch, mobile(1));
    expect(err).toMatchObject({ errorClass: 'uncertain', detail: { status: 500 } });
    expect(err.detail.code).toBeUndefined();
    expect(err.message).toContain('may have accepted');
  });

  it('401 without a code → halt; 429 without a code → transient', async () => {
    const { sb, ch } = await setup();
    sb.failNext(1, null, { httpStatus: 401 });
    sb.failNext(1, null, { httpStatus: 429 });
    const refused = await sendFailure(ch, mobile(1));
    expect(refused).toMatchObject({ errorClass: 'halt', detail: { status: 401 } });
    expect(refused.message).toContain('$WHATSAPP_TOKEN'); // the setting to fix, even without Meta's code
    expect(await sendFailure(ch, mobile(2))).toMatchObject({ errorClass: 'transient', detail: { status: 429 } });
  });
});

describe('network failures', () => {
  it('a timeout → uncertain, and the sandbox did create the message', async () => {
    const { sb, ch } = await setup({}, { timeoutMs: 300 });
    sb.failNext(1, null, { kind: 'timeout' });
    const ctx = delivery(mobile(1), undefined, undefined, { deliveryId: 99 });
    const err = await ch.send(ctx, ch.render(ctx)).then(
      () => undefined,
      (e: unknown) => e as ChannelError,
    );
    expect(err).toMatchObject({ errorClass: 'uncertain', detail: { code: 'ETIMEDOUT' } });
    expect(err!.message).toContain('Meta may have accepted the message');
    expect(sb.sends).toEqual([expect.objectContaining({ to: mobile(1), opaque: '99' })]);
    expect(sb.requests[0]).toMatchObject({ injected: 'timeout', status: 200 });
  });

  it('a reset after the request was sent → uncertain', async () => {
    const { sb, ch } = await setup();
    sb.failNext(1, null, { kind: 'reset' });
    const err = await sendFailure(ch, mobile(1));
    expect(err).toMatchObject({ errorClass: 'uncertain', detail: { code: 'ECONNRESET' } });
    expect(sb.requests[0]).toMatchObject({ injected: 'reset', status: 0 });
  });

  it('nobody listening → transient (nothing can have been sent), and the recipient is not held', async () => {
    // A port that was free a moment ago: connection refused.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const port = (probe.address() as { port: number }).port;
    await new Promise((r) => probe.close(r));
    channel = makeChannel(`http://127.0.0.1:${port}`);
    const first = await sendFailure(channel, mobile(1));
    expect(first).toMatchObject({ errorClass: 'transient', detail: { code: 'ECONNREFUSED' } });
    // Nothing reached Meta: a second try to the same citizen is not refused by the pair spacing.
    expect((await sendFailure(channel, mobile(1))).detail.code).toBe('ECONNREFUSED');
  });
});
