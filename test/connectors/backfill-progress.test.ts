// How `ponte poll` shows a backfill's progress: a line redrawn in place on a terminal, a log line
// every few seconds otherwise, nothing extra for a run shorter than one interval.
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { ProgressTracker, formatProgress, progressPrinter } from '../../src/connectors/progress.js';

function fakeStream(isTTY: boolean) {
  const chunks: string[] = [];
  const stream = new Writable({ write(c, _e, cb) { chunks.push(String(c)); cb(); } }) as unknown as NodeJS.WriteStream;
  (stream as { isTTY: boolean }).isTTY = isTTY;
  return { stream, chunks };
}

describe('backfill progress', () => {
  it('computes rate and time left from the counted total', () => {
    let t = 0;
    const tracker = new ProgressTracker('pratiche', () => t);
    t = 2000;
    tracker.add({ rowsRead: 1000, eventsWritten: 990, rowErrors: 10, rowsTotal: 5000 });
    const p = tracker.snapshot();
    expect(p).toMatchObject({ rowsRead: 1000, eventsWritten: 990, rowErrors: 10, rowsTotal: 5000, rowsPerSec: 500, etaMs: 8000, done: false });
    expect(formatProgress(p)).toBe('pratiche: 1,000 / 5,000 rows (20.0%), 990 events, 10 row errors, 500 rows/s, 8s left');
    // Rows added while reading: the total never falls below what was read.
    t = 4000;
    tracker.add({ rowsRead: 4500, eventsWritten: 4500, rowErrors: 0 });
    expect(tracker.snapshot(true)).toMatchObject({ rowsRead: 5500, rowsTotal: 5500, etaMs: 0, done: true });
  });

  it('without a total it shows the elapsed time instead of time left', () => {
    let t = 0;
    const tracker = new ProgressTracker('x', () => t);
    t = 65_000;
    tracker.add({ rowsRead: 130, eventsWritten: 130, rowErrors: 0 });
    expect(formatProgress(tracker.snapshot())).toBe('x: 130 rows, 130 events, 2 rows/s, 1m05s elapsed');
  });

  it('redraws one line on a terminal and ends it when done', () => {
    let t = 0;
    const { stream, chunks } = fakeStream(true);
    const print = progressPrinter({ stream, log: pino({ level: 'silent' }), clock: () => t, redrawEveryMs: 250 });
    const tracker = new ProgressTracker('p', () => t);
    t = 100; tracker.add({ rowsRead: 10, eventsWritten: 10, rowErrors: 0 }); print(tracker.snapshot());
    t = 300; tracker.add({ rowsRead: 10, eventsWritten: 10, rowErrors: 0 }); print(tracker.snapshot());
    t = 400; print(tracker.snapshot(true));
    expect(chunks).toHaveLength(2);
    expect(chunks[0]).toMatch(/^\r\x1b\[2Kp: 20 rows, 20 events/);
    expect(chunks[1]).toMatch(/done in 0s\n$/);
  });

  it('logs every few seconds when not on a terminal, and nothing for a short run', () => {
    let t = 0;
    const lines: Array<{ msg: string; progress: Record<string, unknown> }> = [];
    const log = pino({ level: 'info' }, new Writable({ write(c, _e, cb) { lines.push(JSON.parse(String(c))); cb(); } }));
    const { stream, chunks } = fakeStream(false);
    const print = progressPrinter({ stream, log, clock: () => t, logEveryMs: 5000 });
    const tracker = new ProgressTracker('p', () => t);
    for (t = 1000; t <= 12_000; t += 1000) { tracker.add({ rowsRead: 100, eventsWritten: 100, rowErrors: 0, rowsTotal: 2000 }); print(tracker.snapshot()); }
    print(tracker.snapshot(true));
    expect(chunks).toEqual([]);
    expect(lines.map((l) => l.progress.rowsRead)).toEqual([500, 1000, 1200]);
    expect(lines[0]!.progress).toMatchObject({ rowsTotal: 2000, etaSeconds: 15 });

    const quiet: unknown[] = [];
    const short = progressPrinter({ stream, log: pino({ level: 'info' }, new Writable({ write(c, _e, cb) { quiet.push(c); cb(); } })), clock: () => 0 });
    short(new ProgressTracker('p', () => 0).snapshot(true));
    expect(quiet).toEqual([]);
  });
});
