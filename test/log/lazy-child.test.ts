import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { LazyChild } from '../../src/log/lazy-child.js';

function capture(level: string) {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({ write(chunk, _enc, cb) { lines.push(JSON.parse(String(chunk))); cb(); } });
  return { log: pino({ level }, stream), lines };
}

describe('a delivery\'s lazy child logger', () => {
  it('computes its bindings only when a line is logged, once, and logs them with every line', async () => {
    const { log, lines } = capture('info');
    let made = 0;
    const child = new LazyChild(log, () => { made++; return { delivery: 7, to: 'cf#abc' }; });
    expect(made).toBe(0);
    child.info('first');
    child.warn({ attempts: 2 }, 'second');
    child.error({ err: 'boom' }, 'third');
    await new Promise((r) => setImmediate(r));
    expect(made).toBe(1);
    expect(lines.map((l) => [l.level, l.msg, l.delivery, l.to, l.attempts ?? null])).toEqual([
      [30, 'first', 7, 'cf#abc', null],
      [40, 'second', 7, 'cf#abc', 2],
      [50, 'third', 7, 'cf#abc', null],
    ]);
  });

  it('never computes them for lines its level leaves out', async () => {
    const { log, lines } = capture('warn');
    let made = 0;
    const child = new LazyChild(log, () => { made++; return { delivery: 7 }; });
    child.info({ x: 1 }, 'not logged at warn');
    expect(made).toBe(0);
    child.warn('logged');
    await new Promise((r) => setImmediate(r));
    expect(made).toBe(1);
    expect(lines.map((l) => l.msg)).toEqual(['logged']);
    const silent = new LazyChild(pino({ level: 'silent' }), () => { made++; return {}; });
    silent.error('nothing');
    expect(made).toBe(1);
  });
});
