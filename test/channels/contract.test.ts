// Every channel against the one contract (contract.ts), each wired to its own sandbox.
import { vi } from 'vitest';
import { startIoSandbox } from '../../src/sandbox/io/index.js';
import { fiscalCode } from '../sandbox/fixtures.js';
import { channelContract, type ChannelUnderTest } from './contract.js';
import * as io from './appio/helpers.js';
import * as wa from './whatsapp/helpers.js';

const appio: ChannelUnderTest = {
  name: 'appio',
  async start(opts = {}) {
    const [cf, cfWithoutProfile] = [fiscalCode(100), fiscalCode(101)];
    const sb = await startIoSandbox({ keys: io.SANDBOX_KEYS, citizens: { notFound: [cfWithoutProfile] }, processingDelayMs: 50, faults: { timeoutMs: 60_000 } });
    const channel = io.makeChannel(opts.baseUrl ? `${opts.baseUrl}/api/v1` : sb.url, {
      ...(opts.logger ? { logger: opts.logger } : {}),
      ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
      ...(opts.wrongSecret ? { env: { ...io.ENV, IO_KEY_ANAGRAFE: 'a-key-io-never-issued' } } : {}),
    });
    const fault = { 'rate-limited': '429', timeout: 'timeout', reset: 'reset' } as const;
    return {
      channel,
      reachable: io.delivery(cf),
      unreachable: io.delivery(cfWithoutProfile),
      personal: [cf, cfWithoutProfile],
      secret: opts.wrongSecret ? 'a-key-io-never-issued' : io.ENV.IO_KEY_ANAGRAFE,
      secretEnv: 'IO_KEY_ANAGRAFE',
      created: () => sb.messages.map((m) => m.id),
      sendBodies: () => sb.requests.filter((r) => r.op === 'submitMessage').map((r) => r.body),
      requestCount: () => sb.requests.length,
      failNextSend: (f) => sb.failNext(1, fault[f], 'submitMessage'),
      settle: () => vi.waitFor(() => { if (sb.messages.some((m) => m.status === 'ACCEPTED')) throw new Error('IO still processing'); }, { timeout: 5000, interval: 10 }),
      async close() {
        channel.close();
        await sb.close();
      },
    };
  },
};

const whatsapp: ChannelUnderTest = {
  name: 'whatsapp',
  async start(opts = {}) {
    const [reachable, noOptIn] = [wa.mobile(1), wa.mobile(2)];
    const receiver = await wa.startReceiver();
    const sb = await wa.startSandbox({ webhookUrl: receiver.url, statusDelayMs: 10, ...(opts.wrongSecret ? { token: 'the-token-meta-expects' } : {}) });
    const channel = wa.makeChannel(opts.baseUrl ?? sb.url, {
      statuses: receiver.statuses,
      consent: async (e164) => e164 === reachable,
      pairSpacingMs: 0, // the contract sends to one citizen several times in a row
      ...(opts.logger ? { logger: opts.logger } : {}),
      ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
    });
    const fault = { 'rate-limited': [130429, {}], timeout: [null, { kind: 'timeout' }], reset: [null, { kind: 'reset' }] } as const;
    const national = (e164: string) => e164.slice(3);
    return {
      channel,
      reachable: wa.delivery(national(reachable)), // as a back-office writes it
      unreachable: wa.delivery(noOptIn),
      personal: [reachable, noOptIn, national(reachable), national(noOptIn), 'RSSMRA80A01H501U'],
      secret: wa.TOKEN,
      secretEnv: 'WHATSAPP_TOKEN',
      created: () => sb.sends.map((s) => s.wamid),
      sendBodies: () => sb.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/messages')).map((r) => r.body),
      requestCount: () => sb.requests.length,
      failNextSend: (f) => sb.failNext(1, fault[f][0], fault[f][1]),
      settle: () => sb.idle(),
      async close() {
        channel.close();
        await sb.close();
        await receiver.close();
      },
    };
  },
};

channelContract(appio);
channelContract(whatsapp);
