// PONTE_ROOT must name the install's folder both from the sources and from dist/: config/,
// connectors/ (YAML, SQL) and bench/results/ are found there, never beside a compiled module.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PONTE_ROOT } from '../../src/util/ponte-root.js';

const repo = resolve(import.meta.dirname, '../..');

describe('PONTE_ROOT', () => {
  it('is the folder of Ponte\'s package.json when running from the sources', () => {
    expect(PONTE_ROOT).toBe(repo);
    expect(JSON.parse(readFileSync(join(PONTE_ROOT, 'package.json'), 'utf8')).name).toBe('ponte');
  });

  it('is the same folder, not dist/, when running compiled (dist/ is built by the global setup)', () => {
    const compiled = join(repo, 'dist/src/util/ponte-root.js');
    const printed = execFileSync(process.execPath, ['--input-type=module', '-e', `import { PONTE_ROOT } from ${JSON.stringify(`file://${compiled}`)}; console.log(PONTE_ROOT);`], { encoding: 'utf8' });
    expect(printed.trim()).toBe(repo);
  });
});
