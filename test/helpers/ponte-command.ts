// The `ponte` command the tests start as a process: the compiled CLI in dist/, which the suite's
// global setup (build-dist.global.ts) builds from the sources first, so a test never runs stale
// code. Started through tsx instead, each process spent about 0.7 s more before its first line of
// work (tsx's loader hooks on each of some 900 modules): the suite took 1,193 s instead of 1,087.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { PONTE_ROOT as ROOT } from '../../src/util/ponte-root.js';

/**
 * argv for spawn(process.execPath, …): `ponte` as `npx ponte` runs it, through bin/ponte.js, which
 * runs dist/ and says what to do when it is missing.
 */
export function ponteArgv(args: string[]): string[] {
  return [join(ROOT, 'bin/ponte.js'), ...args];
}

/** `npm run build` (what `npm install` does): src/, connectors/ and migrations/ to dist/, about 3 s. */
export function buildDist(): void {
  try {
    execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
  } catch {
    throw new Error('building dist/ for the tests failed: see the TypeScript errors above');
  }
}
