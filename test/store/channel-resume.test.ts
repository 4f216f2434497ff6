// `ponte channel resume`: the alert is lifted and the sends the halt put off (in flight when it
// came, written pending a minute ahead) are due at once; other pending work keeps its schedule.
import { afterEach, describe, expect, it } from 'vitest';
import { availableDialects } from '../helpers/databases.js';
import { testStore, type TestStore } from '../helpers/store.js';
import { activeAlerts, HALT_RETRY_MS, raiseAlert, resumeChannel } from '../../src/store/channel-alerts.js';
import { join } from 'node:path';
import knexFactory from 'knex';
import { ponte, ponteProcess, scratchWorkdir, seedWorkdirBackoffice } from '../helpers/cli.js';

const { run } = await availableDialects(['sqlite', 'postgres']);
let store: TestStore | undefined;
afterEach(async () => { await store?.close(); store = undefined; });

describe.each(run)('channel resume (%s)', (dialect) => {
  it('makes due the sends the halt put off, and only those', async () => {
    store = await testStore(dialect);
    const k = store.knex;
    const t0 = Date.parse('2026-12-05T09:00:00Z');
    const delivery = async (key: string, channel: string, nextAt: number, updatedAt: number) => {
      const [ev] = await k('events').insert({ dedup_key: key, instance_id: 'test', type: 't', fiscal_code: 'RSSMRA85T10A562S', created_at: t0 }).returning('id');
      const eventId = typeof ev === 'object' ? (ev as { id: number }).id : ev;
      const [d] = await k('deliveries').insert({ event_id: eventId, channel, state: 'pending', next_attempt_at: nextAt, created_at: t0, updated_at: updatedAt }).returning('id');
      return Number(typeof d === 'object' ? (d as { id: number }).id : d);
    };
    await raiseAlert(k, 'whatsapp', 'token expired', '190', t0);
    const putOff = await delivery('a', 'whatsapp', t0 + 1000 + HALT_RETRY_MS, t0 + 1000); // in flight at the halt
    const retry = await delivery('b', 'whatsapp', t0 + 30_000, t0 - 5000); // a retry scheduled before it
    const other = await delivery('c', 'appio', t0 + 1000 + HALT_RETRY_MS, t0 + 1000); // another channel
    const now = t0 + 5000;
    expect(await resumeChannel(k, 'whatsapp', now)).toEqual({ due: 1 });
    const next = async (id: number) => Number((await k('deliveries').where({ id }).first('next_attempt_at')).next_attempt_at);
    expect([await next(putOff), await next(retry), await next(other)]).toEqual([now, t0 + 30_000, t0 + 1000 + HALT_RETRY_MS]);
    expect(await activeAlerts(k)).toEqual([]);
    expect(await resumeChannel(k, 'whatsapp', now)).toBeNull();
  });
});

describe.each(run)('channel resume of a halted part (%s)', (dialect) => {
  it("lifts the alerts of the channel's parts (one IO service's key), not another channel's", async () => {
    store = await testStore(dialect);
    const k = store.knex;
    const t0 = Date.parse('2026-12-05T09:00:00Z');
    // Longer than the 30 characters the column had before migration 009.
    await raiseAlert(k, 'appio:servizi-demografici-elettorali', 'io: … 401 …', 'http 401', t0);
    await raiseAlert(k, 'whatsapp', 'token expired', '190', t0);
    expect(await resumeChannel(k, 'appio', t0 + 1000)).toEqual({ due: 0 });
    expect((await activeAlerts(k)).map((a) => a.channel)).toEqual(['whatsapp']);
    expect(await resumeChannel(k, 'appio', t0 + 2000)).toBeNull();
  });
});

describe('ponte channel halt and resume', () => {
  it('an operator halts a channel for every process, across a restart, sees it in status, and resumes it', async () => {
    const cwd = scratchWorkdir();
    await seedWorkdirBackoffice(cwd);
    expect((await ponte(['migrate'], { cwd })).code).toBe(0);
    const halt = await ponte(['channel', 'halt', 'appio', '--reason', 'testo del promemoria sbagliato'], { cwd });
    expect(halt.code).toBe(0);
    expect(halt.stdout).toContain('channel appio halted: every process stops posting on it within one batch of claims; its deliveries stay pending, also across restarts. `ponte channel resume appio` sends them.');

    // A start lifts a provider's halt (new credentials come with a restart), not an operator's.
    const daemon = ponteProcess(['run'], { cwd });
    const states = async () => {
      const k = knexFactory({ client: 'better-sqlite3', connection: { filename: join(cwd, 'data/ponte.sqlite'), readonly: true } as never, useNullAsDefault: true });
      try { return (await k('deliveries').pluck('state')) as string[]; } catch { return []; } finally { await k.destroy(); }
    };
    for (let i = 0; i < 200 && ((await states()).length < 3 || !daemon.out.stdout.includes('stays halted by an operator')); i++) await new Promise((r) => setTimeout(r, 200));
    await new Promise((r) => setTimeout(r, 2000)); // passes of the dispatcher
    daemon.child.kill('SIGTERM');
    expect(await daemon.exited).toBe(0);
    expect(daemon.out.stdout).toContain('"msg":"channel appio stays halted by an operator: `ponte channel resume appio` to send again"');
    const held = await states();
    expect(held.length).toBeGreaterThanOrEqual(3);
    expect(new Set(held)).toEqual(new Set(['pending']));

    const status = await ponte(['status', '--days', '30'], { cwd });
    expect(status.stdout).toContain('Why they did not go out (rejected, failed, dead; ended in the last 30 days, since ');
    expect(status.stdout).toMatch(/!!! CHANNEL APPIO HALTED since .* \(operator\): halted by an operator: testo del promemoria sbagliato\n    Its deliveries stay pending\. A restart keeps it; to send again: npx ponte channel resume appio\n/);
    expect((await ponte(['channel', 'resume', 'appio'], { cwd })).stdout).toContain('channel appio resumed');
    expect((await ponte(['status'], { cwd })).stdout).not.toContain('HALTED');
  }, 180_000);

  it('a provider\'s stop answering a send in flight leaves an operator\'s halt as it is', async () => {
    store = await testStore('sqlite');
    await raiseAlert(store.knex, 'whatsapp', 'halted by an operator', 'operator', 1000);
    await raiseAlert(store.knex, 'whatsapp', 'whatsapp: 190 token expired', '190', 2000);
    expect((await activeAlerts(store.knex)).map((a) => [a.channel, a.code, a.reason])).toEqual([['whatsapp', 'operator', 'halted by an operator']]);
    await raiseAlert(store.knex, 'whatsapp', 'halted by an operator: again', 'operator', 3000);
    expect((await activeAlerts(store.knex)).map((a) => a.reason)).toEqual(['halted by an operator: again']);
    await raiseAlert(store.knex, 'appio', 'io: 401', 'http 401', 1000);
    await raiseAlert(store.knex, 'appio', 'io: 401 again', 'http 401', 2000);
    expect((await activeAlerts(store.knex)).find((a) => a.channel === 'appio')?.reason).toBe('io: 401 again');
  });

  it('an unknown channel is refused, naming the channels there are', async () => {
    const r = await ponte(['channel', 'resume', 'telegram'], { cwd: scratchWorkdir() });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown channel "telegram" (channels: appio, whatsapp)');
  }, 60_000);
});
