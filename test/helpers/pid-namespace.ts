// A pid namespace of its own, as a container gets, for tests of what a process does there.
import { spawnSync } from 'node:child_process';

/** Runs the command after it as pid 1 of a new pid namespace (killed with unshare). */
export const AS_PID_1 = ['unshare', '--pid', '--fork', '--kill-child', '--'];

/**
 * Runs the command after it as pid 2: the namespace's pid 1 is a shell waiting for it (a crash
 * point's SIGKILL reaches pid 2 as on any host; pid 1 cannot SIGKILL itself).
 */
export const AS_PID_2 = [...AS_PID_1, 'sh', '-c', '"$@"; exit $?', 'sh'];

/** Why these tests cannot run here (no Linux, not root), or null when they can: probed once. */
export const noPidNamespaces: string | null = (() => {
  const probe = spawnSync(AS_PID_1[0]!, [...AS_PID_1.slice(1), 'true']);
  return probe.status === 0 ? null : `unshare --pid cannot run here (${probe.error?.message ?? probe.stderr.toString().trim()}): it needs Linux and root`;
})();
