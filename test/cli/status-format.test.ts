// `ponte status` as a person reads it: the deliveries table keeps its columns apart whatever the
// channels' names and counts.
import { describe, expect, it } from 'vitest';
import { formatStatus } from '../../src/cli/status.js';
import type { StatusReport } from '../../src/store/status.js';
import { DELIVERY_STATES } from '../../src/store/states.js';

function report(deliveries: StatusReport['deliveries']): StatusReport {
  const totals: StatusReport['totals'] = {};
  for (const byState of Object.values(deliveries)) {
    for (const [s, n] of Object.entries(byState)) totals[s as keyof typeof totals] = (totals[s as keyof typeof totals] ?? 0) + n!;
  }
  return {
    generatedAt: '2026-12-05T00:00:00.000Z', deliveries, totals, events: 0, connectors: [], rowErrors: [], attention: [],
    oldestDueSeconds: null, alerts: [], fallbacks: [], consents: { optedIn: 0, optedOut: 0 }, replies: { waiting: 0, failed: 0, stale: 0 }, processes: [],
    unsent: { since: '2026-11-28T00:00:00.000Z', days: 7, groups: [] },
  };
}

/** The deliveries table of the output: its header and state rows, split on runs of spaces. */
function table(text: string): string[][] {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.startsWith('Deliveries'));
  const end = lines.indexOf('', start);
  return lines.slice(start, end).map((l) => l.trim().split(/\s{2,}/));
}

describe('formatStatus: deliveries by channel and state', () => {
  it('keeps long channel names and large counts in columns of their own', () => {
    const text = formatStatus(report({ appio: { pending: 2, processed: 12_345_678 }, whatsapp: { processed: 2, skipped: 1 } }));
    expect(table(text)).toEqual([
      ['Deliveries', 'appio', 'whatsapp'],
      ['pending', '2', '0'],
      ['processed', '12345678', '2'],
      ['skipped', '0', '1'],
    ]);
    // right-aligned: each count ends where its channel's name ends
    const lines = text.split('\n');
    const header = lines.find((l) => l.startsWith('Deliveries'))!;
    const processed = lines.find((l) => l.trimStart().startsWith('processed'))!;
    expect(processed.length).toBe(header.length);
  });

  it('says so when there are none', () => {
    expect(formatStatus(report({}))).toContain('Deliveries: none yet');
  });
});

describe('formatStatus: what needs attention', () => {
  it('lists it by state, then delivery (the store gives the latest changed first), and names the store', () => {
    const r = report({ appio: { uncertain: 2, dead: 1 } });
    const a = (delivery: number, state: 'uncertain' | 'dead') => ({ delivery, event: `k${delivery}`, channel: 'appio', state, reason: state, lastError: null });
    r.attention = [a(91, 'dead'), a(87, 'uncertain'), a(12, 'dead'), a(88, 'uncertain')];
    const text = formatStatus({ ...r, store: 'SQLite file data/ponte.sqlite' });
    expect(text.split('\n')[1]).toBe('Store: SQLite file data/ponte.sqlite');
    const lines = text.split('\n');
    const at = lines.indexOf('Needs attention');
    const order = lines.slice(at + 1).filter((l) => l.startsWith('  #')).map((l) => /^ {2}#(\d+) appio (\w+)/.exec(l)?.slice(1, 3).join(' '));
    const byState = ['uncertain', 'dead'].sort((x, y) => DELIVERY_STATES.indexOf(x as never) - DELIVERY_STATES.indexOf(y as never));
    const groups: Record<string, string[]> = { uncertain: ['87 uncertain', '88 uncertain'], dead: ['12 dead', '91 dead'] };
    expect(order).toEqual(byState.flatMap((st) => groups[st]!));
  });

  it('says what to do with uncertain deliveries, and only when there are some', () => {
    const r = report({ appio: { uncertain: 1, dead: 1 } });
    r.attention = [{ delivery: 7, event: 'k7', channel: 'appio', state: 'uncertain', reason: 'send outcome unknown', lastError: null }];
    const text = formatStatus(r);
    for (const verb of ['confirm <id> --provider-id', 'resend <id>', 'cancel <id>']) expect(text).toContain(`npx ponte delivery ${verb}`);
    r.attention = [{ delivery: 8, event: 'k8', channel: 'appio', state: 'dead', reason: 'retry budget used up', lastError: null }];
    expect(formatStatus(r)).not.toContain('npx ponte delivery confirm');
  });
});
