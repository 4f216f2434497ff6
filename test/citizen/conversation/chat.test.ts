// `ponte chat <phone>`, run as a CED would: lines on stdin, the bot's replies on stdout, menus as
// lettered options, and what the citizen did stored in the config's store.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import knexFactory from 'knex';
import { describe, expect, it } from 'vitest';
import { scratchWorkdir } from '../../helpers/cli.js';
import { ponteArgv } from '../../helpers/ponte-command.js';

// test/helpers/cli.ts runs ponte with stdin ignored; chat needs it piped.
function chat(cwd: string, lines: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ponteArgv(['chat', '347 123 4567']), { cwd, env: { ...process.env, PONTE_LOG_FORMAT: 'json' }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => { child.kill('SIGKILL'); fail(new Error(`ponte chat timed out\n${stdout}\n${stderr}`)); }, 60_000);
    child.on('error', fail);
    child.on('close', (code) => { clearTimeout(timer); done({ code, stdout, stderr }); });
    child.stdin.end(lines.map((l) => `${l}\n`).join(''));
  });
}

describe('ponte chat', () => {
  it('menus as lettered options, a choice by letter, a subscription stored with its proof', async () => {
    const cwd = scratchWorkdir();
    const r = await chat(cwd, ['Ciao', 'F', 'A']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('> Ciao');
    expect(r.stdout).toContain('A) Info e orari uffici – Orari, indirizzi, contatti e appuntamenti');
    expect(r.stdout).toContain('I) Parla con un operatore');
    expect(r.stdout).toContain('A) Allerte meteo – non iscritto – Allerte meteo e idrogeologiche sul territorio');
    expect(r.stdout).toContain('Fatto! ✅ Da ora ricevi gli avvisi «Allerte meteo».');
    // The phone is never in the logs in clear.
    expect(r.stderr).not.toMatch(/3471234567/);
    const knex = knexFactory({ client: 'better-sqlite3', connection: { filename: join(cwd, 'data/ponte.sqlite') }, useNullAsDefault: true });
    try {
      expect(await knex('topic_subscriptions').select('phone', 'topic', 'state')).toEqual([{ phone: '+393471234567', topic: 'meteo', state: 'subscribed' }]);
      expect(await knex('consent_events').select('action', 'source', 'text', 'topic')).toEqual([{ action: 'opt_in', source: 'whatsapp-menu', text: 'A', topic: 'meteo' }]);
    } finally {
      await knex.destroy();
    }
  });
});
