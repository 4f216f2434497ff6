// An upgrade while an old `ponte run` still works on the store: the newer Ponte migrates it, and
// the old process must stop (exit 1, saying why) rather than go on writing by the old schema's rules.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import knexFactory from 'knex';
import { ponteProcess, scratchWorkdir, seedWorkdirBackoffice } from '../helpers/cli.js';

describe('ponte run on a store a newer Ponte migrates under it', () => {
  it('stops gracefully and exits 1, naming the unknown migration', async () => {
    const cwd = scratchWorkdir();
    await seedWorkdirBackoffice(cwd);
    const daemon = ponteProcess(['run'], { cwd });
    const deadline = Date.now() + 40_000;
    while (Date.now() < deadline && !daemon.out.stdout.includes('"msg":"ponte running"')) await new Promise((r) => setTimeout(r, 200));
    expect(daemon.out.stdout, daemon.out.stderr).toContain('"msg":"ponte running"');

    const k = knexFactory({ client: 'better-sqlite3', connection: { filename: join(cwd, 'data/ponte.sqlite') }, useNullAsDefault: true });
    try {
      await k('knex_migrations').insert({ name: '20991231_999_from_a_newer_ponte.ts', batch: 99, migration_time: new Date() });
    } finally {
      await k.destroy();
    }
    const code = await Promise.race([daemon.exited, new Promise<'running'>((r) => setTimeout(() => r('running'), 30_000))]);
    if (code === 'running') daemon.child.kill('SIGKILL');
    expect(code, daemon.out.stdout.slice(-3000)).toBe(1);
    expect(daemon.out.stdout).toMatch(/the store was migrated by a newer Ponte: this version does not know its migration\(s\) 20991231_999_from_a_newer_ponte\.ts/);
    expect(daemon.out.stdout).toMatch(/"msg":"stopped: everything in flight was recorded"/);
  }, 80_000);
});
