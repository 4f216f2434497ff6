// The benchmarks' result files (bench/report.ts): each run gets a file of its own, named by the
// day and the minute, and latest.md takes the newest by the instant written inside it.
import { mkdtempSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { newestResult, writeResult } from '../../bench/report.js';
import { PONTE_ROOT } from '../../src/util/ponte-root.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ponte-bench-results-'));
  vi.spyOn(console, 'log').mockImplementation(() => undefined);
});
afterEach(() => {
  vi.restoreAllMocks();
  rmSync(dir, { recursive: true, force: true });
});

describe('bench result files', () => {
  it('a second run the same day writes a file of its own, named by its UTC minute, with that same instant inside', () => {
    const morning = writeResult('dispatch', 'Dispatch', [{ ratio: 0.9 }], { rounds: 3 }, dir, new Date('2026-12-07T04:03:59.900Z'));
    const later = writeResult('dispatch', 'Dispatch', [{ ratio: 0.95 }], { rounds: 3 }, dir, new Date('2026-12-07T05:40:00.000Z'));
    expect([basename(morning), basename(later)]).toEqual(['dispatch-2026-12-07-0403.json', 'dispatch-2026-12-07-0540.json']);
    expect(readdirSync(dir).sort()).toEqual(['dispatch-2026-12-07-0403.json', 'dispatch-2026-12-07-0540.json']);
    const first = JSON.parse(readFileSync(morning, 'utf8')) as Record<string, unknown>;
    expect(first).toMatchObject({ title: 'Dispatch', at: '2026-12-07T04:03:59.900Z', rounds: 3, rows: [{ ratio: 0.9 }] });
    expect(first.machine).toHaveProperty('cores');
  });

  it('the newest result is the one written last, by its own instant, whatever the files\' times; older names without the minute still count', () => {
    writeFileSync(join(dir, 'dispatch-2026-12-05.json'), JSON.stringify({ rows: [{ run: 'old name, no at' }] }));
    writeResult('dispatch', 'D', [{ run: 'night' }], {}, dir, new Date('2026-12-07T00:25:00Z'));
    const newest = writeResult('dispatch', 'D', [{ run: 'morning' }], {}, dir, new Date('2026-12-07T05:40:00Z'));
    writeResult('dispatch-extra', 'Other bench', [{ run: 'other name' }], {}, dir, new Date('2026-12-08T00:00:00Z'));
    // A fresh clone: every file the same mtime; the morning's file even looks oldest.
    utimesSync(newest, new Date('2020-01-01'), new Date('2020-01-01'));
    expect(newestResult(dir, 'dispatch', 0)?.rows).toEqual([{ run: 'morning' }]);
    // Only results written since a run started count for that run.
    expect(newestResult(dir, 'dispatch', Date.parse('2026-12-07T06:00:00Z'))).toBeUndefined();
    expect(newestResult(dir, 'dispatch', Date.parse('2026-12-07T00:00:00Z'))?.rows).toEqual([{ run: 'morning' }]);
    // With only the old file, its name's date stands in for the missing instant.
    const alone = mkdtempSync(join(tmpdir(), 'ponte-bench-results-'));
    try {
      writeFileSync(join(alone, 'price-2026-12-06.json'), JSON.stringify({ rows: [{ run: 'old' }] }));
      expect(newestResult(alone, 'price', Date.parse('2026-12-06T00:00:00Z'))?.rows).toEqual([{ run: 'old' }]);
      expect(newestResult(alone, 'price', Date.parse('2026-12-06T00:00:01Z'))).toBeUndefined();
    } finally {
      rmSync(alone, { recursive: true, force: true });
    }
    expect(newestResult(join(dir, 'missing'), 'dispatch', 0)).toBeUndefined();
  });

  it('a quick run (BENCH_QUICK) writes under bench/results/quick, never over the full results', async () => {
    vi.stubEnv('BENCH_QUICK', '1');
    vi.resetModules();
    const quick = await import('../../bench/report.js');
    vi.stubEnv('BENCH_QUICK', '');
    vi.resetModules();
    const full = await import('../../bench/report.js');
    vi.unstubAllEnvs();
    expect(quick.RESULTS_DIR).toBe(join(PONTE_ROOT, 'bench', 'results', 'quick'));
    expect(full.RESULTS_DIR).toBe(join(PONTE_ROOT, 'bench', 'results'));
  });
});
