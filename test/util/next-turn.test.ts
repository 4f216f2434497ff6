// endOfTurn(): every caller of one turn resumes together, nothing queued meanwhile runs between
// them (what makes the provider requests of a turn leave in one burst).
import { describe, expect, it } from 'vitest';
import { endOfTurn } from '../../src/util/next-turn.js';

describe('endOfTurn', () => {
  it('resumes every caller of the turn back to back, after the turn and before what was queued after the first', async () => {
    const log: string[] = [];
    const a = endOfTurn().then(() => log.push('a'));
    setImmediate(() => log.push('queued between'));
    const b = endOfTurn().then(() => log.push('b'));
    log.push('same turn');
    await Promise.all([a, b]);
    await new Promise((r) => setImmediate(r));
    expect(log).toEqual(['same turn', 'a', 'b', 'queued between']);
  });

  it('a caller of a later turn waits for the end of that one', async () => {
    await endOfTurn();
    const log: string[] = [];
    const later = endOfTurn().then(() => log.push('later'));
    log.push('same turn');
    await later;
    expect(log).toEqual(['same turn', 'later']);
  });
});
