// How a bench starts another script (a bench, the fake provider) or `ponte` in a process of its own.
// `npm run bench` compiles the benches with Ponte (tsconfig.bench.json) and runs them from dist/:
// the engine then runs as `ponte run` does in production, where through tsx it cost a few per cent
// with no-op sends (tsx wraps every function it compiles). A bench started on its own with
// `npx tsx bench/<name>.ts` starts its scripts through tsx too, and builds dist/ before `ponte`.
import { fileURLToPath } from 'node:url';
import { buildDist, ponteArgv } from '../test/helpers/ponte-command.js';

/** True when this file runs compiled (dist/bench/), false from its source through tsx. */
const COMPILED = import.meta.url.endsWith('.js');

/** argv for spawn(process.execPath, …) running bench/<name> the same way this process runs. */
export function scriptArgv(name: string, args: string[] = []): string[] {
  const file = fileURLToPath(new URL(`./${name}.${COMPILED ? 'js' : 'ts'}`, import.meta.url));
  return [...(COMPILED ? [] : ['--import', 'tsx']), file, ...args];
}

let built = COMPILED; // compiled benches were built together with dist/src
/** argv for spawn(process.execPath, …) running `ponte <args>` from dist/, built from the sources first if need be. */
export function ponteCommand(args: string[]): string[] {
  if (!built) {
    buildDist();
    built = true;
  }
  return ponteArgv(args);
}
