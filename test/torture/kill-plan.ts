import { mulberry32 } from '../../src/util/prng.js';
// Where each life of the daemon ends: a seeded, reproducible plan. The first kills cover every
// kind once (the poll points first, while the back-office is still being read in); further kills
// are drawn at random, half of them at a random moment.
import { CRASH_POINTS, type CrashPointName } from '../../src/util/crash-point.js';

/** A named crash point (PONTE_CRASH_AT), a SIGKILL from the driver while a POST waits for its answer, or one at a random moment. */
export type KillKind = CrashPointName | 'post-in-flight' | 'random';

// The torture drives IO only: a kill during a WhatsApp webhook is shown by
// test/pipeline/webhook-crash.test.ts (the webhook's retry by Meta is what it must survive).
export const KILL_KINDS: readonly KillKind[] = [...CRASH_POINTS.filter((p) => p !== 'during-webhook'), 'post-in-flight', 'random'];

/** The same seed gives the same plan. */
export const prng = mulberry32;

export function killPlan(kills: number, random: () => number): KillKind[] {
  const rest: KillKind[] = ['after-claim', 'before-post', 'post-in-flight', 'after-post', 'during-status', 'random'];
  for (let i = rest.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [rest[i], rest[j]] = [rest[j]!, rest[i]!];
  }
  const first: KillKind[] = ['poll-after-commit', 'poll-before-commit'];
  const plan = [...first, ...rest].slice(0, kills);
  const others = KILL_KINDS.filter((k) => k !== 'random');
  while (plan.length < kills) plan.push(random() < 0.5 ? 'random' : others[Math.floor(random() * others.length)]!);
  return plan;
}

/** An integer in [lo, hi]. */
export function between(random: () => number, lo: number, hi: number): number {
  return lo + Math.floor(random() * (hi - lo + 1));
}
