// SendAhead's arithmetic: concurrency × commit ÷ request, doubled, within 1 … sendAhead.
import { describe, expect, it } from 'vitest';
import { SendAhead } from '../../src/dispatch/send-ahead.js';

describe('SendAhead', () => {
  it('prepares one before anything is measured', () => {
    expect(new SendAhead(64, 32).now).toBe(1);
    expect(new SendAhead(3, 32).now).toBe(1);
    const half = new SendAhead(64, 32);
    half.committed(2);
    expect(half.now).toBe(1); // no request measured yet
  });

  it('never prepares ahead with sendAhead 0', () => {
    const p = new SendAhead(0, 32);
    p.committed(50);
    p.sent(1);
    expect(p.now).toBe(0);
  });

  it('follows Little\'s law with a margin of 2, at least 1 and at most sendAhead', () => {
    const io = new SendAhead(64, 32);
    io.committed(2);
    io.sent(150); // IO's latency: 2 × 32 × 2 / 150 = 0.85 → 1
    expect(io.now).toBe(1);
    const fast = new SendAhead(64, 32);
    fast.committed(2);
    fast.sent(20); // 2 × 32 × 2 / 20 = 6.4 → 7
    expect(fast.now).toBe(7);
    const instant = new SendAhead(64, 32);
    instant.committed(3);
    instant.sent(1);
    expect(instant.now).toBe(64);
  });

  it('moves with a moving average, not with one odd measurement', () => {
    const p = new SendAhead(64, 32);
    p.committed(2);
    p.sent(100);
    expect(p.now).toBe(2);
    p.committed(200); // one stalled commit: the average moves by a twentieth of it
    expect(p.latencies.commitMs).toBeCloseTo(11.9, 5);
    expect(p.now).toBe(8);
    for (let i = 0; i < 200; i++) p.committed(2);
    expect(p.now).toBe(2);
  });
});

describe('SendAhead with onUncertain resend', () => {
  it('prepares all it may: no `sending` is written ahead of a request, so none is exposed', () => {
    const p = new SendAhead(64, 32, true);
    expect(p.now).toBe(64);
    p.committed(1);
    p.sent(500);
    expect(p.now).toBe(64);
  });
});
