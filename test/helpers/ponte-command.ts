// The `ponte` command the tests start as a process: the compiled CLI in dist/, which the suite's
// global setup (build-dist.global.ts) builds from the sources first, so a test never runs stale
// code. Started through tsx instead, each process spent about 0.7 s more before its first line of
// work (tsx's loader hooks on each of some 900 modules): the suite took 1,193 s instead of 1,087.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');
const MAIN = join(ROOT, 'dist/src/cli/main.js');

/** argv for spawn(process.execPath, …): the compiled CLI with these arguments. */
export function ponteArgv(args: string[]): string[] {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: the tests run the compiled CLI; \`npm run build\` (or \`npm test\`, which builds it) first`);
  return [MAIN, ...args];
}

/** Compiles src/, connectors/ and migrations/ to dist/ (what `npm install` does), about 3 s. */
export function buildDist(): void {
  try {
    execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json')], { cwd: ROOT, stdio: 'inherit' });
  } catch {
    throw new Error('building dist/ for the tests failed: see the TypeScript errors above');
  }
}
