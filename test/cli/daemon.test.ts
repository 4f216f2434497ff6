// `ponte run`: polls at start, dispatches until PROCESSED, and stops cleanly on SIGTERM.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import knexFactory from 'knex';
import { ponteProcess, scratchWorkdir, seedWorkdirBackoffice } from '../helpers/cli.js';

async function countProcessed(file: string): Promise<number> {
  const k = knexFactory({ client: 'better-sqlite3', connection: { filename: file, readonly: true } as never, useNullAsDefault: true });
  try {
    if (!(await k.schema.hasTable('deliveries'))) return 0;
    const r = await k('deliveries').where({ state: 'processed' }).count({ n: '*' }).first();
    return Number(r?.n ?? 0);
  } catch {
    return 0;
  } finally {
    await k.destroy();
  }
}

describe('ponte run', () => {
  it('runs the pipeline unattended and exits 0 on SIGTERM', async () => {
    const cwd = scratchWorkdir();
    await seedWorkdirBackoffice(cwd);

    const daemon = ponteProcess(['run'], { cwd });
    const deadline = Date.now() + 50_000;
    let processed = 0;
    while (Date.now() < deadline && processed < 3) {
      await new Promise((r) => setTimeout(r, 300));
      processed = await countProcessed(join(cwd, 'data/ponte.sqlite'));
    }
    daemon.child.kill('SIGTERM');
    const code = await daemon.exited;
    // On a failure, the daemon's own account of what it was doing.
    expect(processed, `${daemon.out.stdout.slice(-4000)}\n${daemon.out.stderr}`).toBe(3);
    expect(code).toBe(0);
    expect(daemon.out.stdout).toMatch(/"msg":"stopping: no new work is claimed/);
    expect(daemon.out.stderr).toBe('');
  }, 70_000);
});
