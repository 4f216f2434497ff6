// `ponte poll <id>` while another process holds the connector's lease (a poll in progress, or a
// process killed mid-poll): exit 3, and it says which process holds it and until when.
import { describe, expect, it } from 'vitest';
import { ponte, scratchWorkdir, seedWorkdirBackoffice, seedWorkdirStore } from '../helpers/cli.js';
import { localStamp } from '../../src/util/local-stamp.js';

describe('ponte poll on a connector another process holds', () => {
  it('exits 3 naming the holder and when its lease runs out', async () => {
    const cwd = scratchWorkdir();
    await seedWorkdirBackoffice(cwd);
    const until = Date.now() + 45_000;
    await seedWorkdirStore(cwd, async (knex) => {
      await knex('connector_state').insert({ instance_id: 'demo-ztl', lease_owner: 'vm:4242:dead00', lease_expires_at: until, lease_epoch: 3, updated_at: Date.now() });
    });
    const r = await ponte(['poll', 'demo-ztl'], { cwd, env: { DATABASE_URL: '' } });
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toContain(`connector demo-ztl is being polled by vm:4242:dead00 (its lease runs until ${localStamp(until)}; a holder that died keeps it until then): nothing polled`);
  });
});
