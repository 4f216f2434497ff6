// The benchmarks report their median round (bench/report.ts medianIndex): which round that is
// decides every figure the README quotes.
import { expect, it } from 'vitest';
import { medianIndex } from '../../bench/report.js';

it('picks the median round, the lower middle of an even count, wherever it ran', () => {
  expect(medianIndex([1.28, 1.04, 1.23])).toBe(2);
  expect(medianIndex([1.01, 0.97, 1.23, 0.98, 0.72])).toBe(3); // 0.98, as the README quotes
  expect(medianIndex([0.9, 0.7, 0.8, 1.0])).toBe(2);
  expect(medianIndex([5])).toBe(0);
});

it('counts a failed round (NaN) as the highest, so one failure does not become the median', () => {
  expect(medianIndex([0.9, Number.NaN, 0.8])).toBe(0);
  expect(medianIndex([Number.NaN, Number.NaN, 0.8])).not.toBe(2);
});
