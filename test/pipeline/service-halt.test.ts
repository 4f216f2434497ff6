// Two IO services of one municipality, one with a key IO refuses (401): that service halts, the
// other goes on; after the key is fixed, `channel resume appio` sends what waited, once each.
import { afterEach, describe, expect, it } from 'vitest';
import { availableDialects } from '../helpers/databases.js';
import { makePipeline, reminder, type Pipeline } from '../helpers/pipeline.js';
import { AppioChannel } from '../../src/channels/appio/index.js';
import { ioRenderer } from '../../src/app/render.js';
import { activeAlerts, resumeChannel } from '../../src/store/channel-alerts.js';
import { statusReport } from '../../src/store/status.js';
import { formatStatus } from '../../src/cli/status.js';

const { run } = await availableDialects(['sqlite', 'postgres']);
const KEYS = { 'key-anagrafe': { service: 'anagrafe', owner: 'comune' }, 'key-polizia': { service: 'polizia-locale', owner: 'comune' } };

function twoServices(p: Pipeline, policeKey: string, registryKey = 'key-anagrafe'): AppioChannel {
  p.channel.close();
  const channel = new AppioChannel({
    baseUrl: p.sandbox.url,
    services: { anagrafe: { keyEnv: 'IO_KEY_ANAGRAFE', owner: 'comune' }, 'polizia-locale': { keyEnv: 'IO_KEY_POLIZIA_LOCALE', owner: 'comune' } },
    timeoutMs: 2000,
    render: ioRenderer((t) => p.instance.definition.eventTypes[t], 'Europe/Rome'),
    env: { IO_KEY_ANAGRAFE: registryKey, IO_KEY_POLIZIA_LOCALE: policeKey },
    logger: p.log,
  });
  p.channels.set('appio', channel);
  return channel;
}

async function byService(p: Pipeline): Promise<Record<string, string[]>> {
  const rows = (await p.store.knex('deliveries').orderBy('id').select('options', 'state')) as Array<{ options: string; state: string }>;
  const out: Record<string, string[]> = {};
  for (const r of rows) (out[(JSON.parse(r.options) as { service: string }).service] ??= []).push(r.state);
  return out;
}

describe.each(run)('one IO service with a refused key (%s)', (dialect) => {
  let p: Pipeline | undefined;
  const extra: AppioChannel[] = [];
  afterEach(async () => {
    for (const c of extra.splice(0)) c.close();
    await p?.close();
    p = undefined;
  });

  it('halts that service only; the other goes on, and resume sends the rest once', async () => {
    p = await makePipeline(dialect, { sandbox: { keys: KEYS }, cfg: { concurrency: 2, batchSize: 4 } });
    extra.push(twoServices(p, 'key-of-another-service'));
    p.backoffice.events = Array.from({ length: 8 }, (_, i) => reminder(i + 1));
    await p.poll();
    // The even ones are the police's notices.
    const ids = (await p.store.knex('deliveries').orderBy('id').pluck('id')) as number[];
    await p.store.knex('deliveries').whereIn('id', ids.filter((_, i) => i % 2 === 1)).update({ options: JSON.stringify({ service: 'polizia-locale' }) });
    await p.store.knex('deliveries').whereIn('id', ids.filter((_, i) => i % 2 === 0)).update({ options: JSON.stringify({ service: 'anagrafe' }) });

    const d = p.dispatcher();
    const deadline = Date.now() + 20_000;
    while ((await byService(p)).anagrafe!.some((s) => s !== 'processed') && Date.now() < deadline) {
      await d.drain();
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(await byService(p)).toEqual({ anagrafe: ['processed', 'processed', 'processed', 'processed'], 'polizia-locale': ['pending', 'pending', 'pending', 'pending'] });
    const alerts = await activeAlerts(p.store.knex);
    expect(alerts.map((a) => [a.channel, a.code])).toEqual([['appio:polizia-locale', 'http 401']]);
    expect(alerts[0]!.reason).toContain('$IO_KEY_POLIZIA_LOCALE');
    expect(p.sandbox.messages.every((m) => m.service === 'anagrafe')).toBe(true);
    const report = await statusReport(p.store.knex, Date.now());
    // For scripts (status --json): the channel as everywhere else, and the part halted.
    expect(report.alerts.map(({ channel, part }) => ({ channel, part }))).toEqual([{ channel: 'appio', part: 'polizia-locale' }]);
    const status = formatStatus(report);
    expect(status).toContain('!!! CHANNEL APPIO: POLIZIA-LOCALE ONLY, HALTED since');
    expect(status).toContain('Fix the cause, then: npx ponte channel resume appio');

    // The CED sets the right key and restarts (here: a new channel), then resumes.
    extra.push(twoServices(p, 'key-polizia'));
    expect(await resumeChannel(p.store.knex, 'appio', Date.now())).not.toBeNull();
    expect(await activeAlerts(p.store.knex)).toEqual([]);
    await p.settle();
    expect(await byService(p)).toEqual({ anagrafe: Array(4).fill('processed'), 'polizia-locale': Array(4).fill('processed') });
    expect(p.sandbox.messages).toHaveLength(8);
    expect(new Set(p.sandbox.messages.map((m) => m.fiscalCode)).size).toBe(8);
  });

  it('a status read refused with 401 halts that service too, and the message stays accepted', async () => {
    // IO keeps the messages ACCEPTED: only status reads are left to do.
    p = await makePipeline(dialect, { sandbox: { keys: KEYS, processingDelayMs: 600_000 } });
    extra.push(twoServices(p, 'key-polizia'));
    p.backoffice.events = [reminder(1), reminder(2)];
    await p.poll();
    await p.dispatcher().drain();
    expect(Object.values(await p.states())).toEqual(['accepted', 'accepted']);
    // The registry office's key is regenerated at IO; this process still has the old one.
    extra.push(twoServices(p, 'key-polizia', 'old-registry-key'));
    await p.dispatcher({ clock: () => Date.now() + 60_000 }).drain();
    expect((await activeAlerts(p.store.knex)).map((a) => [a.channel, a.code])).toEqual([['appio:anagrafe', 'http 401']]);
    const rows = (await p.store.knex('deliveries').orderBy('id').select('state', 'last_error')) as Array<{ state: string; last_error: string | null }>;
    expect(rows.map((r) => r.state)).toEqual(['accepted', 'accepted']);
    // The one read first carries IO's answer; the other may have been put off by the halt unread.
    expect(rows.some((r) => r.last_error?.includes('$IO_KEY_ANAGRAFE'))).toBe(true);
  });
});
