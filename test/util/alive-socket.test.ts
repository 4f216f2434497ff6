// A process's alive socket says it is gone only when the kernel no longer listens on it: a live
// listener, a clean stop (its file removed) and a socket made under another boot are not proof.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { aliveSocketGone, aliveSocketPath, aliveSocketTag, listenAlive, removeAliveSocket } from '../../src/util/alive-socket.js';
import { localBootKey } from '../../src/util/process-identity.js';

const boot = localBootKey();
const dirs: string[] = [];
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });
const folder = () => { const d = mkdtempSync(join(tmpdir(), 'ponte-alive-')); dirs.push(d); return d; };

/** A child process that listens on the socket, then is killed with SIGKILL: what a crash leaves. */
async function killedListener(dir: string, tag: string, bootKey: string): Promise<void> {
  const path = aliveSocketPath(dir, tag, bootKey);
  const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

describe.runIf(boot !== null)('alive socket', () => {
  it('is not gone while its process listens, is gone once that process is killed, and says nothing without a file', async () => {
    const dir = folder();
    const alive = await listenAlive(dir, 'a1b2c3', boot!);
    expect(alive).not.toBeNull();
    expect(await aliveSocketGone(dir, 'a1b2c3', boot!)).toBe(false);

    await killedListener(dir, 'd4e5f6', boot!);
    expect(existsSync(aliveSocketPath(dir, 'd4e5f6', boot!)), 'a killed process leaves its socket file').toBe(true);
    expect(await aliveSocketGone(dir, 'd4e5f6', boot!)).toBe(true);
    // Named for another boot (a folder shared with another machine): never asked, so no proof.
    expect(await aliveSocketGone(dir, 'd4e5f6', 'ffffffffffff')).toBe(false);
    expect(await aliveSocketGone(dir, 'nosuch', boot!)).toBe(false);

    removeAliveSocket(dir, 'd4e5f6', boot!);
    expect(await aliveSocketGone(dir, 'd4e5f6', boot!)).toBe(false);

    // A clean stop removes the file: the process is not judged gone by it (nothing of it is left to release).
    await alive!.close();
    expect(existsSync(aliveSocketPath(dir, 'a1b2c3', boot!))).toBe(false);
    expect(await aliveSocketGone(dir, 'a1b2c3', boot!)).toBe(false);
  });

  it('names its file so that the sweep finds whose it is', () => {
    expect(aliveSocketTag(basename(aliveSocketPath('/x', 'a1b2c3', boot!)))).toBe('a1b2c3');
    expect(aliveSocketTag('a1b2c3.sends')).toBeNull();
  });

  it('gives no socket where the path is too long for one, rather than failing the start', async () => {
    const dir = join(folder(), 'x'.repeat(90));
    mkdirSync(dir);
    expect(await listenAlive(dir, 'a1b2c3', boot!)).toBeNull();
    expect(readdirSync(dir)).toEqual([]);
    expect(await aliveSocketGone(dir, 'a1b2c3', boot!)).toBe(false);
  });
});
