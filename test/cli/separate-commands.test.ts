// The CED flow in separate commands on the embedded default, as docs/connectors.md shows it:
// `ponte poll`, then `ponte dispatch --once` (the sends), then later another `dispatch --once`
// (the status polls). Each command starts its own IO sandbox; the sandbox keeps the messages it
// created in data/io-sandbox.jsonl, so the later command's status polls find them. Without it
// every accepted message ended FAILED "status could not be read" (404).
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { ponte, scratchWorkdir, seedWorkdirBackoffice } from '../helpers/cli.js';
import { openStore } from '../../src/store/db.js';

describe('poll, then dispatch --once, then dispatch --once again', () => {
  it('the second command polls the status of what the first sent: processed, not failed', async () => {
    const cwd = scratchWorkdir();
    await seedWorkdirBackoffice(cwd);
    expect((await ponte(['poll', 'demo-ztl'], { cwd })).code).toBe(0);
    expect((await ponte(['dispatch', '--once'], { cwd })).code).toBe(0);
    const states = async () => {
      const store = openStore({ client: 'sqlite', filename: join(cwd, 'data/ponte.sqlite') });
      try {
        return (await store.knex('deliveries').where({ channel: 'appio' }).select('state', 'reason')) as Array<{ state: string; reason: string | null }>;
      } finally {
        await store.close();
      }
    };
    const sent = await states();
    expect(sent.filter((d) => d.state === 'accepted').length).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 5_500)); // the first status poll is 5 s after the send
    expect((await ponte(['dispatch', '--once'], { cwd })).code).toBe(0);
    const after = await states();
    expect(after.filter((d) => d.state === 'failed')).toEqual([]);
    expect(after.filter((d) => d.state === 'processed').length).toBe(sent.filter((d) => d.state === 'accepted').length);
  }, 120_000);

  it('the embedded sandbox forgets messages a day past the status polls (statusMaxAgeHours, 7 days)', async () => {
    const cwd = scratchWorkdir();
    const file = join(cwd, 'data/io-sandbox.jsonl');
    const day = 24 * 3_600_000;
    const line = (id: string, ageDays: number) => JSON.stringify({
      id, fiscalCode: 'RSSMRA80A01H501U', service: 'anagrafe', owner: 'comune', subject: 'Promemoria appuntamento', markdown: 'x'.repeat(80),
      content: {}, timeToLive: 3600, featureLevelType: 'STANDARD', createdAt: new Date(Date.now() - ageDays * day), final: 'PROCESSED', doneAt: 0,
    });
    mkdirSync(join(cwd, 'data'), { recursive: true });
    writeFileSync(file, `${line('old', 9)}\n${line('young', 7)}\n`);
    const r = await ponte(['dispatch', '--once'], { cwd });
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { id: string }).id)).toEqual(['young']);
  }, 60_000);

  it('without the sandbox, a poll needs no channel secret (it sends nothing); dispatch names the one missing', async () => {
    const cwd = scratchWorkdir();
    const file = join(cwd, 'config/ponte.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace(/^( {2}(io|whatsapp):\n {4}enabled:) true$/gm, '$1 false'));
    await seedWorkdirBackoffice(cwd);
    const noSecrets = { IO_KEY_ANAGRAFE: '', IO_KEY_POLIZIA_LOCALE: '', WHATSAPP_TOKEN: '', WHATSAPP_APP_SECRET: '', WHATSAPP_VERIFY_TOKEN: '' };
    const poll = await ponte(['poll', 'demo-ztl'], { cwd, env: noSecrets });
    expect(poll.code, poll.stderr).toBe(0);
    const dry = await ponte(['poll', 'demo-ztl', '--dry-run'], { cwd, env: noSecrets });
    expect(dry.code, dry.stderr).toBe(0);
    const dispatch = await ponte(['dispatch', '--once'], { cwd, env: noSecrets });
    expect(dispatch.code).toBe(1);
    expect(dispatch.stderr).toMatch(/set environment variable IO_KEY_ANAGRAFE/);
  }, 120_000);
});
