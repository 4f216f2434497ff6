// Test-only fault injection at named points of the pipeline. In a child process,
// PONTE_CRASH_AT=<name> kills the whole process with SIGKILL when <name> is reached, exactly like
// a power cut (as a container's pid 1, which cannot SIGKILL itself, it aborts). In-process tests
// throw SimulatedCrash instead, which nothing records or swallows.
export const CRASH_POINTS = [
  'poll-before-commit',
  'poll-after-commit',
  'after-claim',
  'before-post',
  'after-post',
  'during-status',
  'during-webhook',
] as const;
export type CrashPointName = (typeof CRASH_POINTS)[number];

export class SimulatedCrash extends Error {
  constructor(readonly point: string) {
    super(`simulated crash at ${point}`);
    this.name = 'SimulatedCrash';
  }
}

export type CrashPoint = (name: CrashPointName) => void;

/** From the environment: PONTE_CRASH_AT=name[,name...], optional PONTE_CRASH_AFTER=n (skip the first n hits). */
export function crashPointFromEnv(env: NodeJS.ProcessEnv = process.env): CrashPoint | undefined {
  const names = env.PONTE_CRASH_AT?.split(',').map((s) => s.trim()).filter(Boolean);
  if (!names?.length) return undefined;
  let skip = Number(env.PONTE_CRASH_AFTER ?? 0);
  return (name) => {
    if (!names.includes(name)) return;
    if (skip-- > 0) return;
    process.kill(process.pid, 'SIGKILL');
    // Still here: this is pid 1 of its namespace (a container's init), which the kernel does not let
    // signal itself. abort() ends it all the same (its last resort is a fault, which init cannot ignore).
    process.abort();
  };
}

/** In-process variant for tests: throws at the given point (after `after` hits). */
export function throwingCrashPoint(point: CrashPointName, after = 0): CrashPoint {
  let skip = after;
  return (name) => {
    if (name !== point) return;
    if (skip-- > 0) return;
    throw new SimulatedCrash(name);
  };
}
