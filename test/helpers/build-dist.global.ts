// vitest globalSetup: the processes the tests start run dist/ (ponte-command.ts), so it is built
// from the sources before any test file, whether the suite runs whole or one file, and again
// before each rerun in watch mode (an edited source would otherwise run stale in those processes).
import type { TestProject } from 'vitest/node';
import { buildDist } from './ponte-command.js';

export default function setup(project: TestProject): void {
  buildDist();
  project.onTestsRerun(() => buildDist());
}
