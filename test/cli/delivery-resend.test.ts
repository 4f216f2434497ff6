// `ponte delivery resend` of a message the provider had accepted: a likely second copy to the
// citizen (IO has no idempotency key), so it takes --force and says what to check first.
import { describe, expect, it } from 'vitest';
import { ponte, scratchWorkdir, seedWorkdirStore } from '../helpers/cli.js';

describe('ponte delivery resend', () => {
  it('refuses a delivery with a provider id unless --force, saying what to check', async () => {
    const cwd = scratchWorkdir();
    const now = Date.now();
    await seedWorkdirStore(cwd, async (knex) => {
      const event = (id: number) => ({ id, dedup_key: `appointment:${id}:x`, instance_id: 'demo-appuntamenti', type: 'appointment.reminder', fiscal_code: 'RSSMRA80A01H501U', payload: '{}', created_at: now });
      await knex('events').insert([event(1), event(2)]);
      await knex('deliveries').insert([
        // Accepted by IO, then failed because its status could not be read.
        { id: 1, event_id: 1, channel: 'appio', state: 'failed', attempts: 1, polls: 8, next_attempt_at: now, route_index: 0, provider_id: '01HZZPROVIDERID', reason: 'status unknown after 168 h', created_at: now, updated_at: now, finished_at: now },
        // Never reached IO: resent as before.
        { id: 2, event_id: 2, channel: 'appio', state: 'dead', attempts: 8, polls: 0, next_attempt_at: now, route_index: 0, provider_id: null, reason: 'retries used up', created_at: now, updated_at: now, finished_at: now },
      ]);
    });

    // A typo among the ids: nothing is done, not the ids before it.
    const typo = await ponte(['delivery', 'resend', '2', 'abc'], { cwd });
    expect([typo.code, typo.stdout]).toEqual([2, '']);
    expect(typo.stderr.trim()).toBe('ponte: not a delivery id: "abc" (ids are the numbers `ponte deliveries` shows after #); nothing was done');
    expect((await ponte(['delivery', 'show', 'abc'], { cwd })).code).toBe(2);

    const refused = await ponte(['delivery', 'resend', '1', '2'], { cwd });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('delivery 1 is failed, but appio accepted it as message 01HZZPROVIDERID: it may already have reached the citizen');
    expect(refused.stderr).toContain('"The uncertain case"');
    expect(refused.stderr).toContain('ponte delivery show 1');
    expect(refused.stderr).toContain('GET /messages/{fiscal_code}/01HZZPROVIDERID');
    expect(refused.stderr).toContain('ponte delivery resend 1 --force');
    expect(refused.stdout).not.toMatch(/delivery 1: now/);
    expect(refused.stdout).toMatch(/delivery 2: now pending/);

    const forced = await ponte(['delivery', 'resend', '1', '--force', '--note', 'IO shows it FAILED'], { cwd });
    expect(forced.stderr).toBe('');
    expect(forced.code).toBe(0);
    expect(forced.stdout).toMatch(/delivery 1: now pending/);
  });
});
