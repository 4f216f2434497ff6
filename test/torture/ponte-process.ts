// One real `ponte run` process (the compiled CLI) for the graceful-stop and multi-instance tests: its
// exit, the tail of its log, and a wait for a log message.
import { spawn, type ChildProcess } from 'node:child_process';
import { IO_KEY_ENV, STORE_URL_ENV } from './setup.js';
import { ponteArgv } from '../helpers/ponte-command.js';

export interface PonteProcess {
  child: ChildProcess;
  pid: number;
  spawnAt: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  alive: () => boolean;
  tail: () => string;
  /** Log messages ("msg") seen so far, in order. */
  messages: string[];
  /** Resolves once a log line's msg matches, or false after ms. */
  waitFor: (msg: RegExp, ms: number) => Promise<boolean>;
}

/** The environment of a test `ponte run`: JSON logs at info, the scratch store, no crash switch. */
export function ponteEnv(storeUrl?: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PONTE_LOG_FORMAT: 'json', PONTE_LOG_LEVEL: 'info', [IO_KEY_ENV]: 'torture-key' };
  delete env.PONTE_CRASH_AT;
  delete env.PONTE_CRASH_AFTER;
  delete env.PONTE_CONFIG;
  if (storeUrl) env[STORE_URL_ENV] = storeUrl;
  else delete env[STORE_URL_ENV];
  return env;
}

/** `wrap`: a command the process is started under (e.g. unshare, for a pid namespace of its own). */
export function startPonte(cwd: string, configFile: string, env: NodeJS.ProcessEnv, extraArgs: string[] = [], wrap: string[] = []): PonteProcess {
  const command = [...wrap, process.execPath, ...ponteArgv(['--config', configFile, 'run', ...extraArgs])];
  const child = spawn(command[0]!, command.slice(1), {
    cwd, env, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let partial = '';
  const messages: string[] = [];
  const waiters: Array<{ re: RegExp; done: (ok: boolean) => void }> = [];
  child.stdout!.on('data', (d: Buffer) => {
    out = (out + d.toString()).slice(-40_000);
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop()!;
    for (const l of lines) {
      const m = /"msg":"((?:[^"\\]|\\.)*)"/.exec(l);
      if (!m) continue;
      messages.push(m[1]!);
      for (const w of [...waiters]) if (w.re.test(m[1]!)) { waiters.splice(waiters.indexOf(w), 1); w.done(true); }
    }
  });
  child.stderr!.on('data', (d: Buffer) => { out = (out + d.toString()).slice(-40_000); });
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('exit', (code, signal) => {
    done = true;
    for (const w of waiters.splice(0)) w.done(false);
    r({ code, signal });
  }));
  return {
    child, pid: child.pid!, spawnAt: Date.now(), exited, alive: () => !done, tail: () => out.slice(-6000), messages,
    waitFor: (re, ms) => {
      if (messages.some((m) => re.test(m))) return Promise.resolve(true);
      if (done) return Promise.resolve(false);
      return new Promise<boolean>((r) => {
        const w = { re, done: (ok: boolean) => { clearTimeout(t); r(ok); } };
        const t = setTimeout(() => { waiters.splice(waiters.indexOf(w), 1); r(false); }, ms);
        waiters.push(w);
      });
    },
  };
}

/** Waits for the exit, up to ms; null if the process is still running then. */
export async function exitWithin(p: PonteProcess, ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null } | null> {
  let timer: NodeJS.Timeout | undefined;
  const r = await Promise.race([p.exited, new Promise<null>((ok) => { timer = setTimeout(() => ok(null), ms); })]);
  clearTimeout(timer);
  return r;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
