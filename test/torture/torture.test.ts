// Crash torture, short version: the real `ponte run` killed with SIGKILL 8 times over 150 events
// (every named crash point, a POST in flight, a random moment), then run to the end — judged from
// what the IO sandbox received. The long version is `npm run test:torture`.
import { describe, expect, it } from 'vitest';
import { availableDialects } from '../helpers/databases.js';
import { runTorture } from './driver.js';
import { judge, type InFlightAtKill, type JudgeInput } from './judge.js';
import { KILL_KINDS, killPlan, prng } from './kill-plan.js';
import { formatSummary } from './summary.js';
import { tortureFiscalCode } from './setup.js';
import { checkFiscalCode } from '../../src/util/fiscal-code.js';

const { run, skipped } = await availableDialects(['sqlite', 'postgres']);
if (skipped.length) console.warn(`[torture] skipped: ${skipped.join('; ')}`);
const SEED = Number(process.env.PONTE_TORTURE_SEED ?? 1);

describe('crash torture: the judge', () => {
  const codes = [1, 2, 3].map(tortureFiscalCode);
  const at = (ms: number) => new Date(1_000_000 + ms);
  const base = (): JudgeInput => ({
    expected: codes,
    events: 3,
    messages: codes.map((fiscalCode, i) => ({ id: `M${i}`, fiscalCode, createdAt: at(i) })),
    deliveries: codes.map((fiscalCode, i) => ({ id: i + 1, fiscalCode, state: 'processed', providerId: `M${i}`, reason: null })),
    inFlight: new Map<number, InFlightAtKill>(),
  });

  it('passes a run where every citizen got exactly one message', () => {
    expect(judge(base())).toMatchObject({ violations: [], processed: 3, lost: 0, duplicates: 0, reached: 3 });
  });

  it('counts a missing message as lost unless its delivery is held uncertain after a kill', () => {
    const lost = base();
    lost.messages.pop();
    expect(judge(lost)).toMatchObject({ lost: 1, violations: [expect.stringMatching(/^row 3: no message at IO, delivery 3 is processed/)] });
    const held = base();
    held.messages.pop();
    held.deliveries[2]!.state = 'uncertain';
    held.inFlight.set(3, { kill: 1, copiesBefore: at(100).getTime() });
    expect(judge(held)).toMatchObject({ lost: 0, uncertain: 1, uncertainNotAtIo: 1, violations: [] });
  });

  it('tolerates a second copy only for an uncertain delivery that was in flight, sent before the next life', () => {
    const twice = base();
    twice.messages.push({ id: 'M9', fiscalCode: codes[0]!, createdAt: at(50) });
    expect(judge(twice).violations).toEqual([expect.stringMatching(/^row 1: 2 messages at IO but delivery 1 is processed/)]);
    twice.deliveries[0]!.state = 'uncertain';
    expect(judge(twice).violations).toEqual([expect.stringMatching(/^row 1: delivery 1 is uncertain but no kill found it in flight/)]);
    twice.inFlight.set(1, { kill: 2, copiesBefore: at(60).getTime() });
    expect(judge(twice)).toMatchObject({ violations: [], duplicates: 1, uncertainAtIo: 1 });
    twice.inFlight.set(1, { kill: 2, copiesBefore: at(40).getTime() });
    expect(judge(twice).violations).toEqual([expect.stringMatching(/resent silently/)]);
  });

  it('flags wrong ids, other end states, strangers and a wrong event count', () => {
    const input = base();
    input.deliveries[0]!.providerId = 'OTHER';
    input.deliveries[1]!.state = 'dead';
    input.messages.push({ id: 'X', fiscalCode: tortureFiscalCode(99), createdAt: at(0) });
    input.events = 4;
    expect(judge(input).violations).toEqual([
      'message X at IO for a citizen no row names',
      '4 events in the store for 3 back-office rows',
      'row 1: delivery 1 records IO message OTHER, IO has M0',
      'row 2: delivery 2 ended dead',
    ]);
  });

  it('gives each row a distinct valid fiscal code, and a plan covering every kill kind', () => {
    const many = Array.from({ length: 12_000 }, (_, n) => tortureFiscalCode(n + 1));
    expect(new Set(many).size).toBe(many.length);
    expect(many.every((c) => checkFiscalCode(c) === null)).toBe(true);
    expect(new Set(killPlan(8, prng(SEED)))).toEqual(new Set(KILL_KINDS));
    expect(killPlan(50, prng(5))).toEqual(killPlan(50, prng(5)));
  });
});

describe.each(run as Array<'sqlite' | 'postgres'>)('crash torture on %s', (dialect) => {
  it('8 SIGKILLs of `ponte run` over 150 events: nothing lost, nothing resent, only in-flight sends uncertain', async () => {
    const report = await runTorture({ dialect, events: 150, kills: 8, seed: SEED });
    const summary = formatSummary([report]);
    expect(report.problems, summary).toEqual([]);
    expect(report.verdict.violations, summary).toEqual([]);
    // Each kill happened where planned: every named point was reached.
    expect(report.lives.filter((l) => !l.reached).map((l) => `${l.kind}: ${l.exit}`), summary).toEqual([]);
    expect(new Set(report.lives.map((l) => l.kind))).toEqual(new Set([...KILL_KINDS, 'final']));
    // A named point comes after "ponte running": its 20 s counted from there, boot not included.
    expect(report.lives.filter((l) => l.kind !== 'random' && l.kind !== 'final' && l.bootMs === undefined).map((l) => l.kind)).toEqual([]);
    const v = report.verdict;
    expect(v.lost).toBe(0);
    expect(v.processed + v.uncertain).toBe(150);
    // A kill after a POST was answered, and one with a POST withheld, leave messages at IO that the store holds uncertain;
    // a kill just before a POST leaves a `sending` that never left: its send journal says so, and it is sent once, later.
    expect(v.uncertainAtIo, summary).toBeGreaterThanOrEqual(2);
    expect(v.inFlightSentAgain, summary).toBeGreaterThanOrEqual(1);
    expect(v.uncertain + v.inFlightSentAgain).toBe(v.inFlightAtKills);
  }, 120_000);
});

describe.runIf(run.includes('sqlite'))('crash torture: a kill that is not reached', () => {
  it('says why: booting or not, the polls, who holds the connector, how long each process has been silent', async () => {
    // 1 ms to reach the first poll's commit: the driver kills while the process still boots.
    const report = await runTorture({ dialect: 'sqlite', events: 10, kills: 1, seed: SEED, maxLifeMs: 1 });
    const [first] = report.lives;
    expect(first).toMatchObject({ kind: 'poll-after-commit', reached: false, exit: 'not reached: killed by the driver' });
    expect(first!.bootMs).toBeUndefined();
    expect(first!.note).toMatch(/; not ready; polls \{"started":0,"finished":0,"skipped":0\}/);
    expect(first!.note).toMatch(/connector leases and processes \{"connectors":\[.*\],"processes":\[.*\]\}/);
    // The rest is unharmed: the last life sends everything once.
    expect(report.problems).toEqual([]);
    expect(report.verdict).toMatchObject({ violations: [], lost: 0, processed: 10 });
  }, 60_000);
});
