// A store that cannot be reached, as an operator meets it: a wrong port in DATABASE_URL. The
// error names the store and the setting that chose it (never the password); knex's own pool
// messages come as one line on stderr, never as stack traces on stdout, where `--json` output and
// JSON log lines must stay parseable. And `ponte status` says which store it read.
import { describe, expect, it } from 'vitest';
import { ponte, scratchWorkdir } from '../helpers/cli.js';
import { availableDialects, scratchDb } from '../helpers/databases.js';
import { closedPort } from '../helpers/closed-port.js';

const { run } = await availableDialects(['postgres']);

describe('a store that cannot be reached', () => {
  it('status and status --json: the store and $DATABASE_URL named, no password, nothing but JSON on stdout', async () => {
    const cwd = scratchWorkdir();
    const port = await closedPort();
    const env = { DATABASE_URL: `postgres://ponte:s3cret-pw@127.0.0.1:${port}/ponte_prod` };
    for (const args of [['status'], ['status', '--json']]) {
      const r = await ponte(args, { cwd, env });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`the store cannot be reached: PostgreSQL 127.0.0.1:${port}/ponte_prod (from $DATABASE_URL): connect ECONNREFUSED`);
      expect(r.stdout + r.stderr).not.toContain('s3cret-pw');
      expect(r.stdout + r.stderr).not.toMatch(/\n\s+at /); // no stack trace
      expect(r.stdout).toBe(''); // nothing there that a script reading --json would choke on
    }
  }, 60_000);

  it('status names the store it read: the default SQLite file when $DATABASE_URL is not set', async () => {
    const cwd = scratchWorkdir();
    expect((await ponte(['migrate'], { cwd })).code).toBe(0);
    const r = await ponte(['status'], { cwd, env: { DATABASE_URL: '' } });
    expect(r.stdout).toMatch(/^Store: SQLite file data\/ponte\.sqlite \(store\.filename; \$DATABASE_URL not set\)$/m);
  }, 60_000);

  it.runIf(run.includes('postgres'))('status on an empty PostgreSQL database names it and says how to create the store (not `npm start`, the SQLite demo)', async () => {
    const db = await scratchDb('postgres');
    try {
      const r = await ponte(['status'], { cwd: scratchWorkdir(), env: { DATABASE_URL: db.url } });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^no Ponte store yet in PostgreSQL 127\.0\.0\.1:\d+\/\w+ \(from \$DATABASE_URL\): `npx ponte migrate` creates it/);
    } finally {
      await db.destroy();
    }
  });
});
