// A delivery that ends failed or dead says why in its reason: that is what `ponte deliveries`,
// the attention list and status's "why they did not go out" show. A permanent failure used to
// keep the reason of its earlier wait (a quiet-hours deferral), and a dead one said only how many
// times it was tried.
import { afterEach, describe, expect, it } from 'vitest';
import { availableDialects } from '../helpers/databases.js';
import { citizen, makePipeline, reminder, type Pipeline } from '../helpers/pipeline.js';

const { run } = await availableDialects(['sqlite', 'postgres']);

describe.each(run)('failure reasons on %s', (dialect) => {
  let p: Pipeline | undefined;
  afterEach(async () => { await p?.close(); });

  it('a permanent failure after a quiet-hours deferral gives the error as its reason, not the deferral', async () => {
    // A service still in IO's test phase: any other citizen's profile check answers 403.
    p = await makePipeline(dialect, {
      sandbox: { keys: { 'test-key': { service: 'anagrafe', owner: 'comune', authorizedRecipients: [citizen(2)] } } },
      deliver: { mode: 'first', channels: [{ channel: 'appio', service: 'anagrafe' }], quietHours: { from: '21:00', to: '08:00' }, listForm: false },
    });
    const night = Date.parse('2026-11-24T21:30:00Z');
    const morning = Date.parse('2026-11-25T07:00:00Z');
    p.backoffice.events = [reminder(1)];
    await p.poll({ clock: () => night });
    await p.dispatcher({ clock: () => night }).drain();
    await p.dispatcher({ clock: () => morning }).drain();
    const d = await p.store.knex('deliveries').first('state', 'reason', 'last_error');
    expect(d.state).toBe('failed');
    expect(d.reason).toMatch(/^io: POST \/profiles → 403 /);
    expect(d.reason).toBe(d.last_error);
  });

  it('a dead delivery names the error that used up its retries', async () => {
    p = await makePipeline(dialect, { sandbox: { faults: { rate500: 1, ops: ['getProfile'] } }, cfg: { maxAttempts: 2, quickRetries: 0 } });
    p.backoffice.events = [reminder(1)];
    await p.poll();
    await p.settle();
    const d = await p.store.knex('deliveries').first('state', 'reason');
    expect(d.state).toBe('dead');
    expect(d.reason).toMatch(/^gave up after 2 attempts: io: POST \/profiles → 500/);
  });
});
