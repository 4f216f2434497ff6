// The provider slots: never more than `size` calls at once, and a freed slot goes to a waiting
// send before any waiting check or status poll (a prepared send is already `sending`).
import { describe, expect, it } from 'vitest';
import { ProviderSlots } from '../../src/dispatch/provider-slots.js';

function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

describe('ProviderSlots', () => {
  it('runs at most size calls at once and hands a freed slot to a waiting send first', async () => {
    const slots = new ProviderSlots(2);
    const started: string[] = [];
    const gates = new Map<string, ReturnType<typeof gate>>();
    const call = (name: string, kind: 'send' | 'other') => slots.run(async () => {
      started.push(name);
      const g = gate();
      gates.set(name, g);
      await g.promise;
      return name;
    }, kind);

    const a = call('check-a', 'other');
    const b = call('send-b', 'send');
    const c = call('check-c', 'other');
    const d = call('poll-d', 'other');
    const e = call('send-e', 'send');
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual(['check-a', 'send-b']);
    expect(slots.counts).toEqual({ active: 2, waiting: 3 });

    gates.get('check-a')!.open();
    expect(await a).toBe('check-a');
    await new Promise((r) => setImmediate(r));
    // send-e queued last, but it is a send: it goes before check-c and poll-d.
    expect(started).toEqual(['check-a', 'send-b', 'send-e']);

    gates.get('send-b')!.open();
    await b;
    await new Promise((r) => setImmediate(r));
    expect(started.at(-1)).toBe('check-c'); // the others keep their order among themselves
    gates.get('send-e')!.open();
    gates.get('check-c')!.open();
    await Promise.all([c, e]);
    await new Promise((r) => setImmediate(r));
    gates.get('poll-d')!.open();
    expect(await d).toBe('poll-d');
    expect(slots.counts).toEqual({ active: 0, waiting: 0 });
  });

  it('calls that get a slot in one turn of the event loop leave together at its end', async () => {
    const slots = new ProviderSlots(8);
    const log: string[] = [];
    const runs = ['a', 'b', 'c'].map((name) => slots.run(async () => { log.push(`call ${name}`); }));
    // Microtasks of this turn (answers of other requests, the next deliveries' preparation) run first.
    await Promise.resolve();
    await Promise.resolve();
    log.push('same turn');
    setImmediate(() => log.push('end of turn'));
    await Promise.all(runs);
    await new Promise((r) => setImmediate(r));
    // All three together at the end of the turn, none in the turn that asked.
    expect(log).toEqual(['same turn', 'call a', 'call b', 'call c', 'end of turn']);
    // The next turn's calls leave at the end of that one.
    const later = slots.run(async () => { log.push('call d'); });
    expect(log.at(-1)).toBe('end of turn');
    await later;
    expect(log.at(-1)).toBe('call d');
  });

  it('a call released in a burst (inBurst) leaves at once when a slot is free, else at the end of the turn', async () => {
    const slots = new ProviderSlots(1);
    const log: string[] = [];
    const first = slots.run(async () => {
      log.push('call a');
      await new Promise((r) => setImmediate(r));
      setImmediate(() => log.push('end of the turn a ended in'));
    }, 'send', true);
    const second = slots.run(async () => { log.push('call b'); }, 'send', true); // waits for a's slot
    log.push('same turn');
    await Promise.all([first, second]);
    // a needed no turn; b got its slot as a's call ended (one by one), so it waited for the burst.
    expect(log).toEqual(['call a', 'same turn', 'end of the turn a ended in', 'call b']);
    let asked = true;
    const third = slots.run(async () => { log.push(asked ? 'call c in the turn that asked' : 'call c'); }, 'send', false);
    asked = false;
    await third;
    expect(log.at(-1)).toBe('call c'); // without inBurst: never in the turn that asked
  });

  it('frees the slot of a call that throws', async () => {
    const slots = new ProviderSlots(1);
    await expect(slots.run(async () => { throw new Error('boom'); })).rejects.toThrow('boom');
    expect(await slots.run(async () => 'next', 'send')).toBe('next');
    expect(slots.counts).toEqual({ active: 0, waiting: 0 });
  });

  it('refuses a size below 1', () => {
    expect(() => new ProviderSlots(0)).toThrow('size must be at least 1');
  });
});
