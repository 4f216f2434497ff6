// PonteMetrics and the readiness check on their own: one registry per instance, the WhatsApp
// limiter read at scrape time, and a store that hangs reported within the probe's timeout.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Knex } from 'knex';
import { testStore, type TestStore } from '../helpers/store.js';
import { PonteMetrics, checkReadiness } from '../../src/metrics/index.js';
import { WhatsappChannel } from '../../src/channels/whatsapp/index.js';
import type { Channel } from '../../src/channels/channel.js';
import type { Store } from '../../src/store/db.js';
import { parseSamples, value } from './prom-text.js';

describe('PonteMetrics', () => {
  let store: TestStore;
  beforeEach(async () => { store = await testStore('sqlite'); });
  afterEach(async () => { await store.close(); });

  it('each instance has its own registry: two coexist, with process metrics, and count separately', async () => {
    const a = new PonteMetrics({ store });
    const b = new PonteMetrics({ store });
    a.providerCall('appio', 'send', 'ok', 120);
    a.providerCall('appio', 'send', 'transient', 80, { status: 429 });
    const sa = parseSamples(await a.metrics());
    const sb = parseSamples(await b.metrics());
    expect(value(sa, 'ponte_send_duration_seconds_count', { channel: 'appio', outcome: 'ok' })).toBe(1);
    expect(value(sa, 'ponte_send_duration_seconds_bucket', { channel: 'appio', outcome: 'ok', le: '0.1' })).toBe(0);
    expect(value(sa, 'ponte_send_duration_seconds_bucket', { channel: 'appio', outcome: 'ok', le: '0.25' })).toBe(1);
    expect(value(sa, 'ponte_provider_429_total', { channel: 'appio' })).toBe(1);
    expect(value(sb, 'ponte_send_duration_seconds_count', { channel: 'appio', outcome: 'ok' })).toBeUndefined();
    expect(value(sa, 'ponte_process_resident_memory_bytes') ?? value(sa, 'ponte_process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(a.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  });

  it("WhatsApp's throughput refusal (code 130429, HTTP 400) counts as a 429; its limiter is read at scrape time", async () => {
    const wa = new WhatsappChannel({
      version: 'v24.0', phoneNumberId: '1234567890', tokenEnv: 'WA_TOKEN', env: { WA_TOKEN: 'x' },
      consent: async () => true, statuses: async () => null,
    });
    try {
      const m = new PonteMetrics({ store, channels: new Map<string, Channel>([['whatsapp', wa]]), processMetrics: false });
      m.providerCall('whatsapp', 'send', 'transient', 30, { status: 400, code: '130429' });
      m.providerCall('whatsapp', 'send', 'permanent', 30, { status: 400, code: '131026' });
      const s = parseSamples(await m.metrics());
      expect(value(s, 'ponte_provider_429_total', { channel: 'whatsapp' })).toBe(1);
      expect(value(s, 'ponte_rate_limiter_wait_seconds_total', { channel: 'whatsapp', owner: 'throughput' })).toBe(0);
      expect(value(s, 'ponte_rate_limiter_waiting', { channel: 'whatsapp', owner: 'throughput' })).toBe(0);
      // A configured channel with no deliveries yet still has its series, at 0.
      expect(value(s, 'ponte_deliveries', { channel: 'whatsapp', state: 'pending' })).toBe(0);
      expect(value(s, 'ponte_channel_halted', { channel: 'whatsapp' })).toBe(0);
    } finally {
      wa.close();
    }
  });

  it('every metric says in its HELP whether it is store-wide (max across processes) or per process (sum)', async () => {
    // Three processes on one store are three scrape targets: a sum() of a store-wide gauge such as
    // the uncertain deliveries would show three times the truth.
    const m = new PonteMetrics({ store, processMetrics: false });
    const help = new Map([...(await m.metrics()).matchAll(/^# HELP (ponte_\w+) (.*)$/gm)].map((h) => [h[1]!, h[2]!]));
    const storeWide = ['ponte_deliveries', 'ponte_deliveries_uncertain', 'ponte_oldest_due_delivery_age_seconds', 'ponte_channel_halted', 'ponte_reply_outbox'];
    for (const name of storeWide) expect(help.get(name), name).toMatch(/Store-wide: .* max\(\), not sum\(\)/);
    expect(help.get('ponte_provider_calls_total')).toMatch(/Per process: sum\(\)/);
    for (const [name, text] of help) expect(text, `${name} says neither`).toMatch(/Store-wide:|Per process/);
  });

  it('connector runs: duration by status, rows read, new events and row errors per connector', async () => {
    const m = new PonteMetrics({ store, processMetrics: false });
    m.connectorRun('demo-ztl', 'ok', 250, { rowsRead: 10, eventsNew: 4, rowErrors: 1 });
    m.connectorRun('demo-ztl', 'failed', 40, { rowsRead: 2, eventsNew: 0, rowErrors: 0 });
    const s = parseSamples(await m.metrics());
    expect(value(s, 'ponte_connector_poll_duration_seconds_count', { connector: 'demo-ztl', status: 'ok' })).toBe(1);
    expect(value(s, 'ponte_connector_poll_duration_seconds_count', { connector: 'demo-ztl', status: 'failed' })).toBe(1);
    expect(value(s, 'ponte_connector_rows_read_total', { connector: 'demo-ztl' })).toBe(12);
    expect(value(s, 'ponte_connector_events_new_total', { connector: 'demo-ztl' })).toBe(4);
    expect(value(s, 'ponte_connector_row_errors_total', { connector: 'demo-ztl' })).toBe(1);
  });
});

describe('checkReadiness', () => {
  it('a store that never answers is reported as not reachable within the timeout', async () => {
    const hung = { knex: { raw: () => new Promise(() => {}) } as unknown as Knex, dialect: 'postgres', close: async () => {} } satisfies Store;
    const r = await checkReadiness({ store: hung, channels: ['appio'], timeoutMs: 50 });
    expect(r).toEqual({
      ready: false,
      checks: { store: 'failed', migrations: 'not checked', channels: 'not checked' },
      problems: ['store: not reachable (select 1: no answer within 50 ms)'],
    });
  });

  it('names the store it cannot reach, as the start line does (never its password)', async () => {
    const hung = { knex: { raw: () => new Promise(() => {}) } as unknown as Knex, dialect: 'postgres', where: 'PostgreSQL 10.0.0.5:5432/ponte (from $DATABASE_URL)', close: async () => {} } satisfies Store;
    const r = await checkReadiness({ store: hung, channels: ['appio'], timeoutMs: 50 });
    expect(r.problems).toEqual(['store PostgreSQL 10.0.0.5:5432/ponte (from $DATABASE_URL): not reachable (select 1: no answer within 50 ms)']);
  });
});
