import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { removeTempDirs, tempDir } from './temp-dir.js';
import config from '../../vitest.config.js';

describe('tempDir', () => {
  it('makes a fresh folder each call and removes them all, contents included', () => {
    const a = tempDir('t');
    const b = tempDir('t');
    expect(a).not.toBe(b);
    writeFileSync(join(a, 'db.sqlite'), 'x');
    removeTempDirs();
    expect([existsSync(a), existsSync(b)]).toEqual([false, false]);
    removeTempDirs(); // nothing left to remove: no error
  });

  it('is wired to run after every test file (else every folder it makes is left behind)', () => {
    expect(config.test?.setupFiles).toContain('./test/helpers/cleanup.setup.ts');
  });
});
