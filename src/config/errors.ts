// Config errors that a CED staffer can act on: the file, the field path, what is wrong.
import type { z } from 'zod';

export class ConfigError extends Error {
  constructor(readonly file: string, readonly problems: string[]) {
    super(`${file}: invalid configuration\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** A name to show after a path prefix, e.g. the instance id after `connectors[0]`. */
export type PathLabel = (path: readonly PropertyKey[]) => string | undefined;

export function formatPath(path: readonly PropertyKey[], label?: PathLabel): string {
  let out = '';
  for (const [i, p] of path.entries()) {
    out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
    const name = label?.(path.slice(0, i + 1));
    if (name !== undefined) out += ` (${name})`;
  }
  return out || '(root)';
}

type Issue = z.core.$ZodIssue;

/** For a union (e.g. `deliver:` as a list or as a route), the problems of the form the input took. */
function unionBranch(issue: Issue & { code: 'invalid_union' }): Issue[] | null {
  const branches = (issue.errors ?? []).filter((b) => !b.every((i) => i.code === 'invalid_type' && i.path.length === 0));
  return branches.length === 1 ? branches[0]! : null;
}

function describeIssues(issues: readonly Issue[], prefix: readonly PropertyKey[], label?: PathLabel): string[] {
  return issues.flatMap((issue) => {
    const at = [...prefix, ...issue.path];
    if (issue.code === 'invalid_union') {
      const branch = unionBranch(issue);
      if (branch) return describeIssues(branch, at, label);
    }
    const path = formatPath(at, label);
    if (issue.code === 'unrecognized_keys') return [`${path}: unknown field(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}`];
    return [`${path}: ${issue.message}`];
  });
}

export function zodProblems(error: z.ZodError, prefix: readonly PropertyKey[] = [], label?: PathLabel): string[] {
  return describeIssues(error.issues as Issue[], prefix, label);
}
