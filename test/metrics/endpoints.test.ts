// /metrics, /readyz and /healthz on the server `ponte run` starts, after a real pipeline run:
// a real store, the IO sandbox over HTTP, the runner and the dispatcher reporting to PonteMetrics.
import { processIdentity } from '../../src/util/process-identity.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { availableDialects } from '../helpers/databases.js';
import { makePipeline, reminder, type Pipeline } from '../helpers/pipeline.js';
import { PonteMetrics } from '../../src/metrics/index.js';
import { startAppServer } from '../../src/app/server.js';
import type { AppContext } from '../../src/app/context.js';
import { configSchema } from '../../src/config/schema.js';
import { Dispatcher } from '../../src/dispatch/dispatcher.js';
import { runConnector } from '../../src/connectors/runner.js';
import { clearAlert, raiseAlert } from '../../src/store/channel-alerts.js';
import { migrationSource } from '../../migrations/index.js';
import type { HttpServer } from '../../src/server/http-server.js';
import { parseSamples, series, value, type Sample } from './prom-text.js';

const { run, skipped } = await availableDialects(['sqlite', 'postgres']);
if (skipped.length) console.warn(`[metrics] skipped: ${skipped.join('; ')}`);

describe.each(run)('observability endpoints on %s', (dialect) => {
  let p: Pipeline;
  let metrics: PonteMetrics;
  let server: HttpServer;

  const poll = () => runConnector(p.instance, { store: p.store, channels: p.channels, log: p.log, owner: 'test-proc', metrics });
  /** Drain with a metrics-reporting dispatcher until nothing is open (as Pipeline.settle does). */
  async function settle(): Promise<void> {
    const d = new Dispatcher({ store: p.store, channels: p.channels, cfg: p.cfg, log: p.log, metrics });
    const deadline = Date.now() + 20_000;
    for (;;) {
      await d.drain();
      const open = await p.store.knex('deliveries').whereIn('state', ['pending', 'accepted', 'sending']).count({ n: '*' }).first();
      if (Number(open?.n) === 0) return;
      if (Date.now() > deadline) throw new Error(`pipeline did not settle: ${JSON.stringify(await p.states())}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  async function scrape(): Promise<{ res: Response; samples: Sample[] }> {
    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(200);
    return { res, samples: parseSamples(await res.text()) };
  }
  async function readyz(): Promise<{ status: number; body: { status: string; checks: Record<string, string>; problems: string[] } }> {
    const res = await fetch(`${server.url}/readyz`);
    return { status: res.status, body: await res.json() as never };
  }

  beforeEach(async () => {
    p = await makePipeline(dialect, { sandbox: { processingDelayMs: 20 } });
    metrics = new PonteMetrics({ store: p.store, channels: p.channels, processMetrics: false });
    const app = {
      configFile: 'test', config: configSchema.parse({ server: { host: '127.0.0.1', port: 0 } }),
      store: p.store, channels: p.channels, instances: [p.instance], log: p.log, owner: 'test-proc', identity: processIdentity(), cutRequests: () => {}, close: async () => {},
    } satisfies AppContext;
    server = (await startAppServer(app, { metrics }))!;
  });
  afterEach(async () => {
    await server.close();
    await p.close();
  });

  it('after a pipeline run, /metrics shows the deliveries by state, every send and poll, and the limiter', async () => {
    p.backoffice.events = [reminder(1), reminder(2), reminder(3)];
    await poll();
    await poll(); // the same rows again: read, but no new event
    await settle();
    expect(p.sandbox.messages).toHaveLength(3);

    const { res, samples } = await scrape();
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(value(samples, 'ponte_store_up')).toBe(1);
    expect(value(samples, 'ponte_deliveries', { channel: 'appio', state: 'processed' })).toBe(3);
    // Every state is a series, 0 included, so a state that empties drops to 0 instead of vanishing.
    expect(value(samples, 'ponte_deliveries', { channel: 'appio', state: 'pending' })).toBe(0);
    expect(series(samples, 'ponte_deliveries')).toHaveLength(11);
    expect(value(samples, 'ponte_deliveries_uncertain', { channel: 'appio' })).toBe(0);
    expect(value(samples, 'ponte_oldest_due_delivery_age_seconds')).toBe(0);
    expect(value(samples, 'ponte_channel_halted', { channel: 'appio' })).toBe(0);

    expect(value(samples, 'ponte_send_duration_seconds_count', { channel: 'appio', outcome: 'ok' })).toBe(3);
    expect(value(samples, 'ponte_send_duration_seconds_bucket', { channel: 'appio', outcome: 'ok', le: '+Inf' })).toBe(3);
    expect(value(samples, 'ponte_provider_calls_total', { channel: 'appio', kind: 'send', outcome: 'ok' })).toBe(3);
    expect(value(samples, 'ponte_provider_calls_total', { channel: 'appio', kind: 'check', outcome: 'ok' })).toBe(3);
    // Status polls: as many as the attempts log recorded (how many depends on IO's processing time).
    const statusPolls = await p.store.knex('delivery_attempts').where({ kind: 'status', outcome: 'ok' }).count({ n: '*' }).first();
    expect(Number(statusPolls?.n)).toBeGreaterThanOrEqual(3);
    expect(value(samples, 'ponte_provider_calls_total', { channel: 'appio', kind: 'status', outcome: 'ok' })).toBe(Number(statusPolls?.n));
    expect(value(samples, 'ponte_provider_429_total', { channel: 'appio' })).toBe(0);
    expect(value(samples, 'ponte_delivery_outcomes_total', { channel: 'appio', outcome: 'processed' })).toBe(3);
    // Each send ends 'accepted', and so does each status poll but the three that found it processed.
    expect(value(samples, 'ponte_delivery_outcomes_total', { channel: 'appio', outcome: 'accepted' })).toBe(3 + Number(statusPolls?.n) - 3);

    expect(value(samples, 'ponte_connector_poll_duration_seconds_count', { connector: 'scripted-1', status: 'ok' })).toBe(2);
    expect(value(samples, 'ponte_connector_rows_read_total', { connector: 'scripted-1' })).toBe(6);
    expect(value(samples, 'ponte_connector_events_new_total', { connector: 'scripted-1' })).toBe(3);
    expect(value(samples, 'ponte_connector_row_errors_total', { connector: 'scripted-1' })).toBe(0);

    expect(value(samples, 'ponte_rate_limiter_wait_seconds_total', { channel: 'appio', owner: 'comune' })).toBeGreaterThanOrEqual(0);
    expect(value(samples, 'ponte_rate_limiter_waiting', { channel: 'appio', owner: 'comune' })).toBe(0);
    // The dispatcher's pacing: sends answered by the sandbox, so as many prepared as its latencies call for (within the ceiling).
    const ahead = value(samples, 'ponte_send_ahead');
    expect(ahead).toBeGreaterThanOrEqual(1);
    expect(ahead).toBeLessThanOrEqual(p.cfg.sendAhead);
    const commit = value(samples, 'ponte_sending_commit_seconds');
    expect(commit).toBeGreaterThan(0);
    expect(commit).toBeLessThan(5);
  });

  it('counts the 429s IO answers and the time the owner\'s calls then wait in the limiter', async () => {
    p.backoffice.events = [reminder(1)];
    await poll();
    // Two 429s (retry after 1 s): quick retries in process; the limiter pauses the owner meanwhile.
    p.sandbox.failNext(2, '429', 'submitMessage');
    await settle();
    const { samples } = await scrape();
    expect(value(samples, 'ponte_provider_429_total', { channel: 'appio' })).toBe(2);
    expect(value(samples, 'ponte_provider_calls_total', { channel: 'appio', kind: 'send', outcome: 'transient' })).toBe(2);
    expect(value(samples, 'ponte_send_duration_seconds_count', { channel: 'appio', outcome: 'transient' })).toBe(2);
    expect(value(samples, 'ponte_send_duration_seconds_count', { channel: 'appio', outcome: 'ok' })).toBe(1);
    expect(value(samples, 'ponte_rate_limiter_wait_seconds_total', { channel: 'appio', owner: 'comune' })).toBeGreaterThan(0);
    expect(value(samples, 'ponte_deliveries', { channel: 'appio', state: 'processed' })).toBe(1);
  });

  it('an unanswered send shows as an uncertain delivery', async () => {
    p.backoffice.events = [reminder(1), reminder(2)];
    await poll();
    p.sandbox.failNext(1, 'timeout', 'submitMessage');
    await settle();
    const { samples } = await scrape();
    expect(value(samples, 'ponte_deliveries_uncertain', { channel: 'appio' })).toBe(1);
    expect(value(samples, 'ponte_deliveries', { channel: 'appio', state: 'uncertain' })).toBe(1);
    expect(value(samples, 'ponte_deliveries', { channel: 'appio', state: 'processed' })).toBe(1);
    expect(value(samples, 'ponte_delivery_outcomes_total', { channel: 'appio', outcome: 'uncertain' })).toBe(1);
    expect(value(samples, 'ponte_send_duration_seconds_count', { channel: 'appio', outcome: 'uncertain' })).toBe(1);
  });

  it('the age of the oldest due delivery grows while it waits', async () => {
    p.backoffice.events = [reminder(1)];
    await poll();
    const later = new PonteMetrics({ store: p.store, channels: p.channels, processMetrics: false, clock: () => Date.now() + 3_600_000 });
    const age = value(parseSamples(await later.metrics()), 'ponte_oldest_due_delivery_age_seconds')!;
    expect(age).toBeGreaterThanOrEqual(3600);
    expect(age).toBeLessThan(3600 + 60);
    expect(value(parseSamples(await later.metrics()), 'ponte_deliveries', { channel: 'appio', state: 'pending' })).toBe(1);
  });

  it('/readyz is 200 when all is well, and 503 naming the halted channel, stale schema or unreachable store', async () => {
    expect(await readyz()).toEqual({ status: 200, body: { status: 'ready', checks: { store: 'ok', migrations: 'ok', channels: 'ok' }, problems: [] } });

    // An alert on a channel this process does not send on is not this process's problem.
    await raiseAlert(p.store.knex, 'whatsapp', 'whatsapp: 190 token expired', '190', Date.now());
    expect((await readyz()).status).toBe(200);

    await raiseAlert(p.store.knex, 'appio', 'io: POST /messages → 401 invalid key', 'http 401', Date.UTC(2026, 10, 24, 9));
    const halted = await readyz();
    expect(halted.status).toBe(503);
    expect(halted.body.status).toBe('not ready');
    expect(halted.body.checks).toEqual({ store: 'ok', migrations: 'ok', channels: 'failed' });
    expect(halted.body.problems).toEqual([
      'channel appio: halted since 2026-11-24T09:00:00.000Z: io: POST /messages → 401 invalid key (after fixing the cause: `ponte channel resume appio`)',
    ]);
    expect(value(parseSamples(await (await fetch(`${server.url}/metrics`)).text()), 'ponte_channel_halted', { channel: 'appio' })).toBe(1);
    await clearAlert(p.store.knex, 'appio');
    expect((await readyz()).status).toBe(200);

    await p.store.knex.migrate.down({ migrationSource });
    const stale = await readyz();
    expect(stale.status).toBe(503);
    expect(stale.body.checks).toEqual({ store: 'ok', migrations: 'failed', channels: 'not checked' });
    expect(stale.body.problems).toEqual(['migrations: the store schema is not current (run `ponte migrate`)']);
    await p.store.knex.migrate.latest({ migrationSource });
    expect((await readyz()).status).toBe(200);

    // What Store.close does (the test store's close would also drop the scratch database).
    await p.store.knex.destroy();
    const down = await readyz();
    expect(down.status).toBe(503);
    expect(down.body.checks).toEqual({ store: 'failed', migrations: 'not checked', channels: 'not checked' });
    expect(down.body.problems).toHaveLength(1);
    expect(down.body.problems[0]).toMatch(/^store: not reachable \(.+\)$/);
    // /metrics still answers, saying the store could not be read rather than showing stale counts.
    const { samples } = await scrape();
    expect(value(samples, 'ponte_store_up')).toBe(0);
    expect(series(samples, 'ponte_deliveries')).toEqual([]);
    expect(value(samples, 'ponte_provider_429_total', { channel: 'appio' })).toBe(0);
    // Alive, though not ready.
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    // Reopen the pool so the scratch database can be dropped after the test.
    p.store.knex.initialize();
    expect((await readyz()).status).toBe(200);
  });

  it('listens on the configured host (localhost by default)', () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });
});
