// Bad option values, as an operator types them: each is named, exit 2 (a usage error), whatever
// the command; and a port already taken names the server and the setting to change.
import { describe, expect, it } from 'vitest';
import { createServer } from 'node:net';
import { ponte, scratchWorkdir } from '../helpers/cli.js';

describe('usage errors', () => {
  it('a bad --log-level or $PONTE_LOG_LEVEL is refused by every command, exit 2', async () => {
    const cwd = scratchWorkdir();
    for (const [args, env] of [[['--log-level', 'loud', 'status'], {}], [['purge', '--dry-run'], { PONTE_LOG_LEVEL: 'loud' }]] as const) {
      const r = await ponte([...args], { cwd, env });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/"loud" is not a log level: use one of fatal, error, warn, info, debug, trace, silent/);
    }
  }, 60_000);

  it('bad numbers: --days, --grace-seconds, --port, exit 2 naming the option', async () => {
    const cwd = scratchWorkdir();
    const days = await ponte(['purge', '--days', 'abc'], { cwd });
    expect([days.code, days.stderr.trim()]).toEqual([2, 'ponte: --days must be a whole number of days ≥ 1, not "abc"']);
    const window = await ponte(['status', '--days', '0'], { cwd });
    expect([window.code, window.stderr.trim()]).toEqual([2, 'ponte: --days must be a whole number of days ≥ 1, not "0"']);
    const sandbox = await ponte(['sandbox', '--port', 'abc'], { cwd });
    expect([sandbox.code, sandbox.stderr.trim()]).toEqual([2, 'ponte: --port: expected a port number 0–65535, got "abc"']);
    const port = await ponte(['run', '--port', 'abc'], { cwd });
    expect([port.code, port.stderr.trim()]).toEqual([2, 'ponte: --port: expected a port number 0–65535, got "abc"']);
    const grace = await ponte(['run', '--grace-seconds', 'soon', '--no-poll-at-start'], { cwd });
    expect(grace.code).toBe(2);
    expect(grace.stderr).toContain('--grace-seconds: expected a number of seconds ≥ 0, got soon');
  }, 90_000);

  it("commander's own usage errors and a connector id that does not exist exit 2 too", async () => {
    const cwd = scratchWorkdir();
    for (const args of [['status', '--bogus'], ['ref'], ['nosuchcommand']]) {
      const r = await ponte(args, { cwd });
      expect(r.code, args.join(' ')).toBe(2);
    }
    const poll = await ponte(['poll', 'nosuch', '--dry-run'], { cwd });
    expect(poll.code).toBe(2);
    expect(poll.stderr).toMatch(/^ponte: no connector "nosuch" in config\/ponte\.yaml \(its connectors: demo-appuntamenti, demo-ztl/);
    expect((await ponte(['--help'], { cwd })).code).toBe(0);
  }, 60_000);

  it('ponte run on a port already taken: the server and the setting are named, exit 1', async () => {
    const cwd = scratchWorkdir();
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const { port } = taken.address() as { port: number };
    try {
      const r = await ponte(['run', '--port', String(port), '--no-poll-at-start'], { cwd });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`HTTP server (server.host / server.port in the config, or ponte run --port): 127.0.0.1:${port} is already in use`);
    } finally {
      await new Promise<void>((r) => taken.close(() => r()));
    }
  }, 60_000);
});
