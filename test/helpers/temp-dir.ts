// Scratch folders for tests, removed when their test file ends (test/helpers/cleanup.setup.ts):
// a suite run leaves nothing behind in the system's temp folder (each run used to leave about
// twenty, some of several MB, on a machine whose disk is sometimes nearly full).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made: string[] = [];

/** A new empty folder `<tmp>/ponte-<prefix>-XXXXXX`, removed after this test file. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `ponte-${prefix}-`));
  made.push(dir);
  return dir;
}

/** Removes every folder tempDir() made in this file (a folder already gone is fine). */
export function removeTempDirs(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}
