// The contract every channel passes, against its provider's sandbox over real HTTP: what the
// dispatcher relies on whatever the provider. Each channel's own tests (appio/, whatsapp/) hold
// what is particular to it (exact payloads, every error code); this suite holds what is common,
// so that a new channel is known to fit the dispatcher when it passes here (contract.test.ts).
import { pino, type Logger } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ChannelError, type Channel, type DeliveryContext } from '../../src/channels/channel.js';
import { beforeRequestBytes } from '../../src/channels/http-client.js';
import { closedPort } from '../helpers/closed-port.js';

/** How the next send request fails at the provider. */
export type SendFault =
  /** The provider refuses for its rate limit (a 429 or the provider's own code); nothing created. */
  | 'rate-limited'
  /** The provider creates the message but withholds its answer. */
  | 'timeout'
  /** The connection is reset once the request has arrived. */
  | 'reset';

/** One channel wired to its sandbox, as the contract drives it. */
export interface ChannelHarness {
  channel: Channel;
  /** A recipient the provider reaches, and one the channel's check refuses. */
  reachable: DeliveryContext;
  unreachable: DeliveryContext;
  /** What identifies those citizens (fiscal code, phone number as written and as sent): never in an error or a log line. */
  personal: string[];
  /** The secret the channel authenticates with: never in an error, a log line or describeSend(). */
  secret: string;
  /** The environment variable the secret comes from, which errors name instead. */
  secretEnv: string;
  /** Ids of the messages the provider created, in order. */
  created(): string[];
  /** Bodies of the send requests the provider received (also those it refused). */
  sendBodies(): unknown[];
  /** Requests of every kind the provider received. */
  requestCount(): number;
  failNextSend(fault: SendFault): void;
  /** Lets the provider finish with every message created so far (IO: processing; WhatsApp: its webhooks). */
  settle(): Promise<void>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  logger?: Logger;
  /** The channel's request timeout. */
  timeoutMs?: number;
  /** The provider's url the channel uses instead of the sandbox's (nobody listening there). */
  baseUrl?: string;
  /** The channel authenticates with a secret the provider does not know. */
  wrongSecret?: boolean;
}

export interface ChannelUnderTest {
  name: string;
  start(opts?: HarnessOptions): Promise<ChannelHarness>;
}

/** A ChannelError's class and message (fails the test if the promise resolves or throws something else). */
export async function failure(p: Promise<unknown>): Promise<ChannelError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ChannelError);
  return err as ChannelError;
}

export function channelContract(under: ChannelUnderTest): void {
  describe(`${under.name}: the channel contract`, () => {
    let h: ChannelHarness | undefined;
    afterEach(async () => {
      await h?.close();
      h = undefined;
    });
    const start = async (opts?: HarnessOptions) => (h = await under.start(opts));

    it('sends one message with the body describeSend shows, and returns the id the provider created', async () => {
      const { channel, reachable, created, sendBodies, secret } = await start();
      expect(await channel.checkRecipient(reachable)).toMatchObject({ ok: true });
      const message = channel.render(reachable);
      const described = channel.describeSend(reachable, message);
      expect(JSON.stringify(described)).not.toContain(secret);
      const { providerId } = await channel.send(reachable, message);
      expect(created()).toEqual([providerId]);
      expect(sendBodies()).toEqual([described.body]);
    });

    it('makes every request through the hooked client when it declares requestsHooked', async () => {
      const { channel, reachable, requestCount, settle } = await start();
      // Without the declaration the journal writes before send(); with it, a request that skipped
      // the hooks would leave unrecorded and be sent again after a kill.
      expect(channel.requestsHooked).toBe(true);
      let ran = 0;
      const unhook = beforeRequestBytes(() => { ran++; });
      try {
        await channel.checkRecipient(reachable);
        const { providerId } = await channel.send(reachable, channel.render(reachable));
        await settle();
        await channel.status(reachable, providerId);
        expect(requestCount()).toBeGreaterThanOrEqual(1);
        expect(ran).toBe(requestCount());
      } finally {
        unhook();
      }
    });

    it('follows a sent message to processed', async () => {
      const { channel, reachable, settle } = await start();
      const { providerId } = await channel.send(reachable, channel.render(reachable));
      expect(['accepted', 'processed']).toContain((await channel.status(reachable, providerId)).state);
      await settle();
      await vi.waitFor(async () => expect(await channel.status(reachable, providerId)).toEqual({ state: 'processed' }), { timeout: 5000, interval: 20 });
    });

    it('refuses at the check a recipient it cannot reach, with a reason that names no citizen', async () => {
      const { channel, unreachable, personal, created } = await start();
      const eligibility = await channel.checkRecipient(unreachable);
      expect(eligibility.ok).toBe(false);
      const reason = (eligibility as { reason: string }).reason;
      expect(reason.length).toBeGreaterThan(0);
      for (const p of personal) expect(reason).not.toContain(p);
      expect(created()).toEqual([]);
    });

    it("a rate limit → transient with the provider's wait, nothing created", async () => {
      const { channel, reachable, created, failNextSend } = await start();
      failNextSend('rate-limited');
      const err = await failure(channel.send(reachable, channel.render(reachable)));
      expect(err.errorClass).toBe('transient');
      expect(err.detail.retryAfterMs).toBeGreaterThan(0);
      expect(created()).toEqual([]);
    });

    it('an unanswered send → uncertain (the provider did create it): never a retry', async () => {
      const { channel, reachable, created, failNextSend } = await start({ timeoutMs: 300 });
      failNextSend('timeout');
      const err = await failure(channel.send(reachable, channel.render(reachable)));
      expect(err).toMatchObject({ errorClass: 'uncertain', detail: { code: 'ETIMEDOUT' } });
      expect(created()).toHaveLength(1);
    });

    it('a connection reset after the request arrived → uncertain', async () => {
      const { channel, reachable, failNextSend } = await start();
      failNextSend('reset');
      const err = await failure(channel.send(reachable, channel.render(reachable)));
      expect(err).toMatchObject({ errorClass: 'uncertain', detail: { code: 'ECONNRESET' } });
    });

    it('nobody listening → transient: nothing can have been sent', async () => {
      const { channel, reachable } = await start({ baseUrl: `http://127.0.0.1:${await closedPort()}` });
      const err = await failure(channel.send(reachable, channel.render(reachable)));
      expect(err).toMatchObject({ errorClass: 'transient', detail: { code: 'ECONNREFUSED' } });
    });

    it('a secret the provider refuses → halt, naming its variable, never its value', async () => {
      const { channel, reachable, secretEnv, secret } = await start({ wrongSecret: true });
      const err = await failure(channel.send(reachable, channel.render(reachable)));
      expect(err.errorClass).toBe('halt');
      expect(err.message).toContain(secretEnv);
      expect(err.message).not.toContain(secret);
    });

    it('no error or log line carries a citizen or the secret in clear', async () => {
      const lines: string[] = [];
      const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
      const { channel, reachable, unreachable, personal, secret, failNextSend, settle } = await start({ logger, timeoutMs: 300 });
      const errors: string[] = [];
      const keep = (e: unknown) => { errors.push(e instanceof Error ? `${e.message} ${JSON.stringify(e)}` : String(e)); };
      await channel.checkRecipient(reachable);
      await channel.checkRecipient(unreachable).then((r) => { if (!r.ok) errors.push(r.reason); }, keep);
      const { providerId } = await channel.send(reachable, channel.render(reachable));
      await settle();
      await channel.status(reachable, providerId);
      for (const fault of ['rate-limited', 'timeout', 'reset'] as const) {
        failNextSend(fault);
        await channel.send(reachable, channel.render(reachable)).then(() => errors.push('no error'), keep);
      }
      expect(errors).toHaveLength(4);
      const all = [...lines, ...errors].join('\n');
      for (const p of [...personal, secret]) expect(all).not.toContain(p);
    });
  });
}
