// A whole pipeline in one test process: a real store (SQLite or PostgreSQL), the IO sandbox over
// real HTTP, the real AppIO channel, the runner and the dispatcher — with a scripted back-office.
import { z } from 'zod';
import { pino, type Logger } from 'pino';
import { defineConnector, type ConnectorDefinition, type EmittedEvent, type Cancellation, type RowError } from '../../src/connectors/contract.js';
import type { ConnectorInstance } from '../../src/connectors/registry.js';
import { AppioChannel } from '../../src/channels/appio/index.js';
import { startIoSandbox, type IoSandbox, type IoSandboxOptions } from '../../src/sandbox/io/index.js';
import { ioRenderer } from '../../src/app/render.js';
import { dispatcherSchema, type DispatcherConfig } from '../../src/config/schema.js';
import { Dispatcher } from '../../src/dispatch/dispatcher.js';
import { runConnector } from '../../src/connectors/runner.js';
import type { CrashPoint } from '../../src/util/crash-point.js';
import type { Channel } from '../../src/channels/channel.js';
import { testStore, type TestStore } from './store.js';
import type { Dialect } from './databases.js';
import { fiscalCodeCheckChar } from '../../src/util/fiscal-code.js';

/** A valid (fictitious) fiscal code for citizen n. */
export function citizen(n: number): string {
  const first15 = `RSSMRA80A01H${String(n % 1000).padStart(3, '0')}`;
  return first15 + fiscalCodeCheckChar(first15);
}

/** What the scripted back-office holds; tests mutate it between polls. */
export interface Backoffice {
  events: EmittedEvent[];
  cancellations: Cancellation[];
  errors: RowError[];
}

export const testConnector = defineConnector({
  name: 'scripted',
  description: 'a back-office scripted by the test',
  shape: 'window',
  configSchema: z.object({}),
  eventTypes: {
    'test.reminder': {
      personalFields: ['name'],
      templates: {
        it: {
          subject: 'Promemoria del Comune: {{ what }}',
          markdown: 'Ciao {{ name }}, ti ricordiamo {{ what }}. Questo è un messaggio di prova inviato dal Comune tramite Ponte, nessuna azione richiesta.{{ tail | default("") }}',
        },
      },
    },
  },
  async *poll() {
    // replaced per pipeline, see makePipeline
  },
});

export interface Pipeline {
  store: TestStore;
  sandbox: IoSandbox;
  channel: AppioChannel;
  channels: Map<string, Channel>;
  backoffice: Backoffice;
  instance: ConnectorInstance;
  cfg: DispatcherConfig;
  log: Logger;
  poll(opts?: { crashPoint?: CrashPoint; owner?: string; clock?: () => number }): ReturnType<typeof runConnector>;
  dispatcher(opts?: { crashPoint?: CrashPoint; clock?: () => number; cfg?: Partial<DispatcherConfig> }): Dispatcher;
  /** Drains until no delivery is pending-and-due or accepted (or the deadline passes). */
  settle(opts?: { clock?: () => number; timeoutMs?: number }): Promise<void>;
  states(): Promise<Record<string, string>>;
  close(): Promise<void>;
}

export async function makePipeline(dialect: Dialect, opts: { sandbox?: IoSandboxOptions; cfg?: Partial<DispatcherConfig>; owners?: Record<string, { requests: number; windowMs: number }>; deliver?: ConnectorInstance['settings']['deliver']; extraChannels?: Channel[]; connector?: { definition: ConnectorDefinition; config: unknown }; log?: Logger } = {}): Promise<Pipeline> {
  const store = await testStore(dialect);
  const sandbox = await startIoSandbox({ processingDelayMs: 50, ...opts.sandbox });
  const log: Logger = opts.log ?? pino({ level: process.env.PONTE_TEST_LOG ?? 'silent' });
  const backoffice: Backoffice = { events: [], cancellations: [], errors: [] };
  // A real connector when given (tests may swap instance.definition later, e.g. after editing its
  // connector.yaml); otherwise the scripted back-office.
  const definition: ConnectorDefinition = opts.connector?.definition ?? {
    ...testConnector,
    async *poll() {
      yield { events: structuredClone(backoffice.events), cancellations: [...backoffice.cancellations], errors: [...backoffice.errors] };
    },
  };
  const channel = new AppioChannel({
    baseUrl: sandbox.url,
    services: { anagrafe: { keyEnv: 'IO_KEY_TEST', owner: 'comune' } },
    ...(opts.owners ? { owners: opts.owners } : {}),
    timeoutMs: 2000,
    render: ioRenderer((t) => instance.definition.eventTypes[t], 'Europe/Rome'),
    env: { IO_KEY_TEST: 'test-key' },
    logger: log,
  });
  const channels = new Map<string, Channel>([['appio', channel], ...(opts.extraChannels ?? []).map((c): [string, Channel] => [c.name, c])]);
  const instance: ConnectorInstance = {
    id: 'scripted-1', definition, config: opts.connector?.config ?? {},
    settings: { id: 'scripted-1', use: 'scripted', schedule: '* * * * *', enabled: true, deliver: opts.deliver ?? { mode: 'first', channels: [{ channel: 'appio', service: 'anagrafe' }], listForm: true }, routes: {}, config: {} },
  };
  const cfg = dispatcherSchema.parse({
    concurrency: 4, batchSize: 20, leaseSeconds: 30, quickRetries: 2,
    backoff: { baseSeconds: 0.05, maxSeconds: 0.5 }, statusPollSeconds: [0.1, 0.2], ...opts.cfg,
  });
  const p: Pipeline = {
    store, sandbox, channel, channels, backoffice, instance, cfg, log,
    poll: (o = {}) => runConnector(instance, { store, channels, log, owner: o.owner ?? 'test-proc', ...(o.crashPoint ? { crashPoint: o.crashPoint } : {}), ...(o.clock ? { clock: o.clock } : {}) }),
    dispatcher: (o = {}) => new Dispatcher({ store, channels, cfg: { ...cfg, ...o.cfg }, log, ...(o.crashPoint ? { crashPoint: o.crashPoint } : {}), ...(o.clock ? { clock: o.clock } : {}) }),
    async settle(o = {}) {
      const clock = o.clock ?? Date.now;
      const deadline = Date.now() + (o.timeoutMs ?? 20_000);
      const d = p.dispatcher({ clock });
      for (;;) {
        await d.drain();
        const open = await store.knex('deliveries').whereIn('state', ['pending', 'accepted', 'sending']).count({ n: '*' }).first();
        if (Number(open?.n) === 0) return;
        if (Date.now() > deadline) throw new Error(`pipeline did not settle: ${JSON.stringify(await p.states())}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    async states() {
      const rows = await store.knex('deliveries as d').join('events as e', 'e.id', 'd.event_id').select('e.dedup_key', 'd.state');
      return Object.fromEntries(rows.map((r) => [r.dedup_key, r.state]));
    },
    async close() {
      channel.close();
      await sandbox.close();
      await store.close();
    },
  };
  return p;
}

export function reminder(n: number, extra: Partial<EmittedEvent> = {}): EmittedEvent {
  return {
    key: `test:${n}`, type: 'test.reminder', entity: `thing:${n}`, rowKey: String(n),
    recipient: { fiscalCode: citizen(n) }, data: { what: `l'appuntamento numero ${n}`, name: `Mario${n}` }, ...extra,
  };
}
