// Running the real `ponte` CLI (compiled from the sources before the suite, ponte-command.ts) in a scratch folder
// holding a copy of config/, exactly as a newcomer runs it in a fresh clone.
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import knexFactory, { type Knex } from 'knex';
import { migrateLatest, storeFromKnex } from '../../src/store/db.js';
import { seedDemoBackoffice } from '../../src/demo/backoffice.js';
import { join } from 'node:path';
import { PONTE_ROOT as ROOT } from '../../src/util/ponte-root.js';
import { tempDir } from './temp-dir.js';
import { ponteArgv } from './ponte-command.js';


export function scratchWorkdir(): string {
  const dir = tempDir('cli');
  cpSync(join(ROOT, 'config'), join(dir, 'config'), { recursive: true });
  // Any free port for `ponte run`'s HTTP server: tests (and a CI run beside a developer's) never collide.
  const file = join(dir, 'config/ponte.yaml');
  writeFileSync(file, readFileSync(file, 'utf8').replace(/^  port: 8080$/m, '  port: 0'));
  return dir;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Starts a long-running `ponte` command (e.g. run); the caller signals and awaits it. */
export function ponteProcess(args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv }) {
  const child = spawn(process.execPath, ponteArgv(args), {
    cwd: opts.cwd,
    env: { ...process.env, PONTE_LOG_FORMAT: 'json', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (d: Buffer) => { out.stdout += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { out.stderr += d.toString(); });
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  return { child, out, exited };
}

/** Runs a `ponte` command to its end (killed, and the promise failed, after timeoutMs). */
export function ponte(args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<CliResult> {
  const { child, out, exited } = ponteProcess(args, opts);
  return new Promise((done, fail) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); fail(new Error(`ponte ${args.join(' ')} timed out\n${out.stdout}\n${out.stderr}`)); }, opts.timeoutMs ?? 60_000);
    child.on('error', fail);
    void exited.then((code) => { clearTimeout(timer); done({ code, ...out }); });
  });
}

/** Seeds the store `ponte` will open in `cwd` (data/ponte.sqlite, migrated) through `fn`, then closes it. */
export async function seedWorkdirStore(cwd: string, fn: (knex: Knex) => Promise<void>): Promise<void> {
  mkdirSync(join(cwd, 'data'), { recursive: true });
  const knex = knexFactory({ client: 'better-sqlite3', connection: { filename: join(cwd, 'data/ponte.sqlite') }, useNullAsDefault: true });
  try {
    await migrateLatest(storeFromKnex(knex));
    await fn(knex);
  } finally {
    await knex.destroy();
  }
}

/** Seeds the demo back-office `ponte` reads in `cwd` (data/demo-backoffice.sqlite), as `npm start` does; `edit` may change its rows. */
export async function seedWorkdirBackoffice(cwd: string, edit?: (knex: Knex) => Promise<void>): Promise<void> {
  mkdirSync(join(cwd, 'data'), { recursive: true });
  const bo = knexFactory({ client: 'better-sqlite3', connection: { filename: join(cwd, 'data/demo-backoffice.sqlite') }, useNullAsDefault: true });
  try {
    await seedDemoBackoffice(bo);
    await edit?.(bo);
  } finally {
    await bo.destroy();
  }
}
