// The provider slots: never more than `size` calls at once, and a freed slot goes to a waiting
// send before any waiting check or status poll (a prepared send is already `sending`).
import { describe, expect, it } from 'vitest';
import { ProviderSlots } from '../../src/dispatch/provider-slots.js';
import { gate } from '../helpers/gate.js';

describe('ProviderSlots', () => {
  it('runs at most size calls at once and hands a freed slot to a waiting send first', async () => {
    const slots = new ProviderSlots(2);
    const started: string[] = [];
    const gates = new Map<string, ReturnType<typeof gate>>();
    const call = (name: string, kind: 'send' | 'other') => slots.run(async () => {
      started.push(name);
      const g = gate();
      gates.set(name, g);
      await g.opened;
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

  it('a slot handed over leaves at once while answers come one a turn, and joins the end-of-turn burst while they come in bunches', async () => {
    const slots = new ProviderSlots(3, { burstAt: 2 });
    const log: string[] = [];
    const running = new Map<string, () => void>();
    const call = (name: string) => slots.run(() => new Promise<void>((resolve) => { log.push(`call ${name}`); running.set(name, resolve); }), 'send');
    let n = 0;
    /** Ends `answers` running calls in one turn, with as many sends waiting: did the handed-over ones leave before the turn ended? */
    const turn = async (answers: number): Promise<boolean> => {
      const ending = [...running.keys()].slice(0, answers);
      for (let i = 0; i < answers; i++) void call(`w${++n}`);
      await new Promise((r) => setImmediate(r));
      const before = log.length;
      setImmediate(() => log.push('end of turn'));
      for (const name of ending) { running.get(name)!(); running.delete(name); }
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setImmediate(r));
      const after = log.slice(before);
      expect(after.filter((x) => x.startsWith('call'))).toHaveLength(answers);
      return after[0] !== 'end of turn';
    };
    for (const name of ['a', 'b', 'c']) void call(name);
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(slots.counts).toEqual({ active: 3, waiting: 0 });
    // It starts out bursting; one answer a turn brings the average below burstAt.
    expect(slots.bursting).toBe(true);
    expect(await turn(1)).toBe(false);
    expect(slots.bursting).toBe(false);
    expect(await turn(1)).toBe(true); // left in the turn its slot came free
    // Three answers a turn: within a few turns handed-over slots wait for the end of the turn again.
    const atOnce: boolean[] = [];
    for (let i = 0; i < 6; i++) atOnce.push(await turn(3));
    expect(atOnce.slice(0, 2)).toEqual([true, true]);
    expect(atOnce.at(-1)).toBe(false);
    expect(slots.bursting).toBe(true);
    for (const resolve of running.values()) resolve();
  });

  it('a slot handed over from a failed call waits for the end of the turn even when not bursting: the failure may halt the channel first', async () => {
    const slots = new ProviderSlots(1, { burstAt: 2 });
    const log: string[] = [];
    const ends: Array<(ok: boolean) => void> = [];
    const call = (name: string) => slots.run(() => new Promise<void>((resolve, reject) => {
      log.push(`call ${name}`);
      ends.push((ok) => (ok ? resolve() : reject(new Error(`${name} failed`))));
    }), 'send');
    const settle = async () => { for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r)); };
    /** Ends the running call, one send waiting: did the waiting one leave before the turn ended? */
    const handover = async (name: string, ok: boolean): Promise<boolean> => {
      void call(name).catch(() => undefined);
      await settle();
      const before = log.length;
      setImmediate(() => log.push('end of turn'));
      ends.shift()!(ok);
      await settle();
      return log[before] === `call ${name}`;
    };
    void call('a').catch(() => undefined);
    await settle();
    expect(await handover('b', true)).toBe(false); // bursting at first
    expect(slots.bursting).toBe(false);
    expect(await handover('c', true)).toBe(true); // one a turn: at once
    expect(await handover('d', false)).toBe(false); // c failed: d waits for the turn's end
    expect(await handover('e', true)).toBe(true);
    ends.shift()!(true);
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
