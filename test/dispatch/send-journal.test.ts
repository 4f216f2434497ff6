// The send journal: a line per request before it leaves, read back by whoever releases a dead
// process's claims. What must hold: a request made is always in the file (rotations included),
// a torn last line counts as not sent, and a journal that cannot be written is removed rather
// than left incomplete (an incomplete one would have a sent message sent again).
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { aliveSocketPath } from '../../src/util/alive-socket.js';
import { JOURNAL_ROTATE_BYTES, readSendJournal, SendJournal, sweepStaleJournals } from '../../src/dispatch/send-journal.js';

let dir: string;
beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'ponte-journal-')); });
afterEach(() => { chmodSync(dir, 0o700); rmSync(dir, { recursive: true, force: true }); });

describe('send journal', () => {
  it('exists empty from the start, records each attempt once, and is read back as "<id>.<attempt>"', async () => {
    const j = SendJournal.create(dir, 'abc123');
    expect(readSendJournal(dir, 'abc123')).toEqual(new Set());
    await j.posted(7, 1);
    await j.posted(7, 1); // a quick retry of the same attempt
    await j.posted(8, 3);
    expect(readFileSync(join(dir, 'abc123.sends'), 'utf8')).toBe('7.1\n8.3\n');
    expect(readSendJournal(dir, 'abc123')).toEqual(new Set(['7.1', '8.3']));
    expect(readSendJournal(dir, 'other1')).toBeNull();
    j.close();
  });

  it('writes the lines of one burst in one write(2), each request waiting for it; a later burst in another', async () => {
    const j = SendJournal.create(dir, 'burst1');
    const writes: string[] = [];
    const internals = j as unknown as { append(text: string): void };
    const append = internals.append.bind(j);
    internals.append = (text) => { writes.push(text); append(text); };
    const file = join(dir, 'burst1.sends');
    const burst = [j.posted(1, 1), j.posted(2, 1), j.posted(3, 2)];
    expect(readFileSync(file, 'utf8')).toBe(''); // not yet: no request of the burst has left
    const seen: string[] = [];
    await Promise.all(burst.map((p) => p.then(() => seen.push(readFileSync(file, 'utf8')))));
    expect(seen).toEqual(['1.1\n2.1\n3.2\n', '1.1\n2.1\n3.2\n', '1.1\n2.1\n3.2\n']); // each request finds every line of its burst written
    await Promise.all([j.posted(4, 1), j.posted(5, 1)]);
    expect(writes).toEqual(['1.1\n2.1\n3.2\n', '4.1\n5.1\n']);
    j.posted(6, 1);
    j.close(); // a stop: what is recorded is written, as a kill would find it
    expect(readSendJournal(dir, 'burst1')).toEqual(new Set(['1.1', '2.1', '3.2', '4.1', '5.1', '6.1']));
  });

  it('a clean removal with lines still being collected reports no failed write (the descriptor is closed)', async () => {
    const failures: Error[] = [];
    const j = SendJournal.create(dir, 'rm0001', (e) => failures.push(e));
    const pending = j.posted(1, 1);
    j.remove();
    await pending;
    expect(failures).toEqual([]);
    expect(existsSync(join(dir, 'rm0001.sends'))).toBe(false);
  });

  it('ignores a torn last line: its request had not left', () => {
    writeFileSync(join(dir, 'torn01.sends'), '5.1\n6.2\n12');
    expect(readSendJournal(dir, 'torn01')).toEqual(new Set(['5.1', '6.2']));
  });

  it('rotates past its size, keeping every request whose outcome is not yet recorded', async () => {
    const j = SendJournal.create(dir, 'rot001');
    let id = 0;
    // Requests recorded as they go, and three that never are (their outcome writes still waiting).
    await Promise.all([j.posted(1_000_001, 1), j.posted(1_000_002, 1), j.posted(1_000_003, 2)]);
    let size = 0;
    let before = -1;
    while (size >= before) { // until the file shrinks: it was rotated
      before = size;
      id++; await j.posted(id, 1); j.settled(id);
      size = statSync(join(dir, 'rot001.sends')).size;
    }
    expect(before).toBeGreaterThan(JOURNAL_ROTATE_BYTES - 16); // not before its size (a line short of it)
    const after = readSendJournal(dir, 'rot001')!;
    expect(after.size).toBeLessThan(10);
    for (const open of ['1000001.1', '1000002.1', '1000003.2']) expect(after.has(open)).toBe(true);
    await j.posted(42_000_000, 1);
    expect(readSendJournal(dir, 'rot001')!.has('42000000.1')).toBe(true);
    expect(j.unsettled).toBe(4);
    j.remove();
    expect(existsSync(join(dir, 'rot001.sends'))).toBe(false);
  });

  it('removes itself when a record cannot be written, and says so once', async () => {
    const failures: Error[] = [];
    const j = SendJournal.create(dir, 'full01', (e) => failures.push(e));
    await j.posted(1, 1);
    // A write that fails (a full disk): forced by closing the descriptor under it.
    (j as unknown as { fd: number }).fd = -1;
    await j.posted(2, 1);
    await j.posted(3, 1);
    expect(failures).toHaveLength(1);
    expect(j.failure).toBe(failures[0]);
    expect(readSendJournal(dir, 'full01')).toBeNull(); // nothing known: every `sending` stays uncertain
  });

  it('refuses a tag that is not alphanumeric (it names a file)', () => {
    expect(() => SendJournal.create(dir, '../x')).toThrow(/not alphanumeric/);
  });

  it('sweeps journals untouched for a day, not fresh ones', () => {
    SendJournal.create(dir, 'old001').close();
    SendJournal.create(dir, 'new001').close();
    const dayAgo = (Date.now() - 25 * 3_600_000) / 1000;
    utimesSync(join(dir, 'old001.sends'), dayAgo, dayAgo);
    expect(sweepStaleJournals(dir)).toBe(1);
    expect(readSendJournal(dir, 'old001')).toBeNull();
    expect(readSendJournal(dir, 'new001')).toEqual(new Set());
  });

  it('sweeps an alive socket a day old once its journal is gone or stale, not one whose journal is fresh', () => {
    SendJournal.create(dir, 'new002').close();
    const dayAgo = (Date.now() - 25 * 3_600_000) / 1000;
    // Plain files, named as the sockets are, stand in for them: the sweep looks only at names and times.
    for (const tag of ['orph01', 'new002']) {
      writeFileSync(aliveSocketPath(dir, tag, '0123456789ab'), '');
      utimesSync(aliveSocketPath(dir, tag, '0123456789ab'), dayAgo, dayAgo);
    }
    writeFileSync(aliveSocketPath(dir, 'fresh1', '0123456789ab'), '');
    expect(sweepStaleJournals(dir)).toBe(1);
    expect(readdirSync(dir).sort()).toEqual(['fresh1-0123456789ab.alive', 'new002-0123456789ab.alive', 'new002.sends']);
  });
});
