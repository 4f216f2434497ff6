// PONTE_CRASH_AT, the crash torture's switch: the process dies at the named point, whatever pid it has.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { AS_PID_1, noPidNamespaces } from '../helpers/pid-namespace.js';

const REACH = fileURLToPath(new URL('../fixtures/crash-point/reach.ts', import.meta.url));
const NODE = [process.execPath, '--import', 'tsx', REACH];
if (noPidNamespaces) console.warn(`[crash-point] the pid 1 case is skipped: ${noPidNamespaces}`);

function reach(env: Record<string, string>, wrap: string[] = []) {
  const [cmd, ...args] = [...wrap, ...NODE];
  return spawnSync(cmd!, args, { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 30_000 });
}

describe('PONTE_CRASH_AT', () => {
  it('kills the process with SIGKILL at the named point', () => {
    const r = reach({ PONTE_CRASH_AT: 'before-post,after-claim' });
    expect(r.stdout).toMatch(/^pid \d+\n$/);
    expect(r.signal).toBe('SIGKILL');
  });

  it('does nothing at a point it does not name', () => {
    const r = reach({ PONTE_CRASH_AT: 'before-post' });
    expect(r.stdout).toMatch(/survived/);
    expect(r.status).toBe(0);
  });

  it.skipIf(noPidNamespaces !== null)('kills it too as pid 1 of its namespace (a container), which cannot SIGKILL itself', () => {
    const r = reach({ PONTE_CRASH_AT: 'after-claim' }, AS_PID_1);
    expect(r.stdout).toBe('pid 1\n'); // it was pid 1, and it went no further
    expect(r.status === 0 && r.signal === null).toBe(false);
  });
});
