// Quiet hours on the real pipeline: a send due at night waits for the morning, never dropped,
// and a reminder whose expiry falls inside the quiet hours ends expired, with the reason.
import { afterEach, describe, expect, it } from 'vitest';
import { availableDialects } from '../helpers/databases.js';
import { makePipeline, reminder, type Pipeline } from '../helpers/pipeline.js';

const { run } = await availableDialects(['sqlite', 'postgres']);

describe.each(run)('quiet hours on %s', (dialect) => {
  let p: Pipeline | undefined;
  afterEach(async () => { await p?.close(); });

  it('defers to the end of the quiet hours; expiry inside them ends the send as expired', async () => {
    p = await makePipeline(dialect, { deliver: { mode: 'first', channels: [{ channel: 'appio', service: 'anagrafe' }], quietHours: { from: '21:00', to: '08:00' }, listForm: false } });
    const night = Date.parse('2026-11-24T21:30:00Z'); // 22:30 in Rome
    const morning = Date.parse('2026-11-25T07:00:00Z'); // 08:00 in Rome
    p.backoffice.events = [
      reminder(1, { expiresAt: new Date('2026-11-25T12:00:00Z') }),
      reminder(2, { expiresAt: new Date('2026-11-25T05:00:00Z') }), // 06:00 in Rome: before quiet hours end
    ];
    await p.poll({ clock: () => night });
    await p.dispatcher({ clock: () => night }).drain();
    const rows = await p.store.knex('deliveries as d').join('events as e', 'e.id', 'd.event_id').orderBy('e.dedup_key').select('e.dedup_key', 'd.state', 'd.next_attempt_at', 'd.reason');
    expect(rows).toEqual([
      { dedup_key: 'test:1', state: 'pending', next_attempt_at: morning, reason: 'deferred by quiet hours (21:00–08:00) until 2026-11-25T07:00:00.000Z' },
      { dedup_key: 'test:2', state: 'expired', next_attempt_at: night, reason: 'quiet hours (21:00–08:00) end after its expiry (2026-11-25T05:00:00.000Z)' },
    ]);
    expect(p.sandbox.requests).toHaveLength(0);
    // An hour before the morning nothing is due; at 08:00 it goes.
    expect((await p.dispatcher({ clock: () => morning - 3_600_000 }).drain()).processed).toBe(0);
    const offset = morning - Date.now();
    await p.settle({ clock: () => Date.now() + offset }); // a clock that runs, from 08:00
    expect(await p.states()).toEqual({ 'test:1': 'processed', 'test:2': 'expired' });
    expect(p.sandbox.messages).toHaveLength(1);
  });
});
