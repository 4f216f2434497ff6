// A helpdesk call, from the command line: a citizen's deliveries found by fiscal code or number
// however it was typed, shown masked; a mistyped one is refused (exit 2) without echoing it.
import { describe, expect, it } from 'vitest';
import { ponte, scratchWorkdir, seedWorkdirStore } from '../helpers/cli.js';

describe('ponte deliveries --citizen', () => {
  it('finds one citizen by fiscal code or phone, masked, and refuses what is neither', async () => {
    const cwd = scratchWorkdir();
    const now = Date.now();
    await seedWorkdirStore(cwd, async (knex) => {
      await knex('events').insert([
        { id: 1, dedup_key: 'tari:1', instance_id: 'tari', type: 'tari.due', fiscal_code: 'RSSMRA80A01H501U', phone: '+393471234567', payload: '{}', created_at: now },
        { id: 2, dedup_key: 'tari:2', instance_id: 'tari', type: 'tari.due', fiscal_code: 'VRDNNA85M41F205D', payload: '{}', created_at: now },
      ]);
      await knex('consents').insert({ phone: '+393471234567', channel: 'whatsapp', state: 'opted_out', updated_at: Date.UTC(2026, 11, 3, 9, 0) });
      await knex('consent_events').insert([
        { phone: '+393471234567', action: 'opt_in', source: 'whatsapp-keyword', at: Date.UTC(2026, 11, 1, 9, 0) },
        { phone: '+393471234567', action: 'opt_out', source: 'modulo cartaceo', at: Date.UTC(2026, 11, 3, 9, 0) },
      ]);
      await knex('deliveries').insert([
        { id: 1, event_id: 1, channel: 'appio', state: 'skipped', reason: 'io: sender_allowed=false → whatsapp', attempts: 1, polls: 0, next_attempt_at: now, route_index: 0, created_at: now, updated_at: now },
        { id: 2, event_id: 1, channel: 'whatsapp', state: 'processed', address: '+393471234567', attempts: 1, polls: 0, next_attempt_at: now, route_index: 1, created_at: now, updated_at: now },
        { id: 3, event_id: 2, channel: 'appio', state: 'processed', attempts: 1, polls: 0, next_attempt_at: now, route_index: 0, created_at: now, updated_at: now },
      ]);
    });

    const byCode = await ponte(['deliveries', '--citizen', 'rssmra80a01h501u'], { cwd });
    expect(byCode.code).toBe(0);
    expect(byCode.stdout.split('\n').filter((l) => l.startsWith('#')).map((l) => l.split(' ')[0])).toEqual(['#2', '#1']);
    expect(byCode.stdout).toContain('io: sender_allowed=false → whatsapp');
    expect(byCode.stdout).toMatch(/only events not yet purged: those finished more than 90 days ago/);

    const byPhone = await ponte(['deliveries', '--citizen', '347 123 4567', '--state', 'processed'], { cwd });
    expect(byPhone.stdout.split('\n').filter((l) => l.startsWith('#')).map((l) => l.split(' ')[0])).toEqual(['#2']);
    // The helpdesk's next question, "why no WhatsApp?", answered by the number's consent.
    expect(byPhone.stdout).toMatch(/^WhatsApp consent: opted out since 2026-12-0\d \d\d:\d\d:\d\d CE[S]?T \(modulo cartaceo\)$/m);
    const unknown = await ponte(['deliveries', '--citizen', '+39 333 000 0101'], { cwd });
    expect(unknown.stdout).toContain('WhatsApp consent: none recorded for this number (no WhatsApp message goes to it)');

    for (const out of [byCode.stdout, byPhone.stdout]) expect(out).not.toMatch(/RSSMRA80A01H501U|3471234567/i);

    const typo = await ponte(['deliveries', '--citizen', 'RSSMRA80A01H501X'], { cwd });
    expect([typo.code, typo.stdout]).toEqual([2, '']);
    expect(typo.stderr.trim()).toBe('ponte: --citizen: not a valid fiscal code (wrong check character: expected U)');
    const neither = await ponte(['deliveries', '--citizen', '12'], { cwd });
    expect(neither.code).toBe(2);
    expect(neither.stderr).toContain('--citizen: neither a fiscal code nor a valid phone number');

    const tari = await ponte(['deliveries', '--connector', 'tari', '--type', 'tari.due'], { cwd });
    expect(tari.stdout.split('\n').filter((l) => l.startsWith('#')).map((l) => l.split(' ')[0])).toEqual(['#3', '#2', '#1']);
    const misspelt = await ponte(['deliveries', '--connector', 'demo-ztll'], { cwd });
    expect(misspelt.code).toBe(2);
    expect(misspelt.stderr).toMatch(/--connector: no connector "demo-ztll" in the configuration and no deliveries of one; ids: demo-appuntamenti, demo-ztl/);
  }, 60_000);
});
