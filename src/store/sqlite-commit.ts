// SQLite: a group commit whose wait for the disk is not spent on Node's only thread.
// better-sqlite3 runs statements synchronously, so with `synchronous = FULL` (db.ts) each commit's
// fsync of the write-ahead log stopped everything else in the process: the requests, their
// answers, the next prepared sends. The dispatcher's group commit (write-deliveries.ts) is the one
// writer that commits hundreds of times a second, so it commits with `synchronous = NORMAL` (the
// frames are written to the log, not synced) and then syncs the log from the thread pool; its
// callers learn of the commit only after that sync. Every byte written to the log before the sync
// is on disk when it returns, so a `sending` is as durable before its request leaves as with
// FULL. Every other write on the connection still commits with FULL.
import { closeSync, fdatasync, fstatSync, openSync } from 'node:fs';
import { promisify } from 'node:util';
import type { Knex } from 'knex';

const datasync = promisify(fdatasync);

/** The part of a better-sqlite3 connection used here. */
export interface SqliteConnection {
  readonly name: string;
  readonly memory: boolean;
  prepare(sql: string): { run(...params: unknown[]): unknown; all(...params: unknown[]): unknown[]; get(...params: unknown[]): unknown };
  transaction<F extends (...args: never[]) => unknown>(fn: F): F;
}

/**
 * Per connection: its write-ahead log, kept open to sync it, and its `synchronous` setting to
 * restore; null where commits are not synced here (not in WAL mode, in memory, or a connection
 * set not to sync: OFF or NORMAL).
 */
const logs = new WeakMap<SqliteConnection, { wal: WalFile; synchronous: number } | null>();

class WalFile {
  private fd: number | undefined;
  constructor(private readonly path: string) {}

  /**
   * fdatasync, as SQLite's own sync of the log. The log is deleted only when the last connection
   * closes (this one is open); should it have been all the same, a deleted file (no links left)
   * is put aside and the log at the path synced instead.
   */
  async sync(): Promise<void> {
    this.fd ??= openSync(this.path, 'r');
    await datasync(this.fd);
    if (fstatSync(this.fd).nlink > 0) return;
    this.close();
    this.fd = openSync(this.path, 'r');
    await datasync(this.fd);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

function logOf(db: SqliteConnection): { wal: WalFile; synchronous: number } | null {
  let log = logs.get(db);
  if (log === undefined) {
    const mode = db.memory ? 'memory' : String((db.prepare('pragma journal_mode').get() as { journal_mode: string }).journal_mode);
    const synchronous = Number((db.prepare('pragma synchronous').get() as { synchronous: number }).synchronous);
    log = mode === 'wal' && synchronous >= 2 ? { wal: new WalFile(`${db.name}-wal`), synchronous } : null;
    logs.set(db, log);
  }
  return log;
}

/** Closes the log file kept open for `db` (its connection is closing). */
export function forgetWal(db: SqliteConnection): void {
  logs.get(db)?.wal.close();
  logs.delete(db);
}

/**
 * Runs `write` in one transaction on the store's connection (synchronously: nothing else runs on
 * it meanwhile) and resolves once it is on disk. In WAL mode the commit does not sync; the log is
 * synced afterwards off Node's thread. Otherwise the commit syncs as the connection is set to.
 */
export async function commitDurably<T>(knex: Knex, write: (db: SqliteConnection) => T): Promise<T> {
  const client = knex.client as unknown as { acquireConnection(): Promise<SqliteConnection>; releaseConnection(c: SqliteConnection): Promise<unknown> };
  const db = await client.acquireConnection();
  let log: { wal: WalFile; synchronous: number } | null;
  let result: T;
  try {
    log = logOf(db);
    if (log) db.prepare('pragma synchronous = NORMAL').run();
    try {
      result = db.transaction(() => write(db))();
    } finally {
      if (log) db.prepare(`pragma synchronous = ${log.synchronous}`).run();
    }
  } finally {
    await client.releaseConnection(db);
  }
  await log?.wal.sync();
  return result;
}
