// Progress of one connector run, batch by batch: what a long first poll (a backfill of a big
// table) shows in the terminal. The runner computes it; `ponte poll` prints it.
import type { Logger } from 'pino';
import type { Batch } from './contract.js';

export interface PollProgress {
  instanceId: string;
  rowsRead: number;
  /** New events stored (duplicates absorbed by the ledger are not counted). */
  eventsWritten: number;
  rowErrors: number;
  elapsedMs: number;
  /** Rows read per second since the run started. */
  rowsPerSec: number;
  /** Rows this run is expected to read in all, when the source could tell (a COUNT). */
  rowsTotal?: number;
  /** Estimated time left, when rowsTotal is known and the rate is measurable. */
  etaMs?: number;
  /** True on the last report of the run. */
  done: boolean;
}

/**
 * A batch may say how many rows the whole run will read (counted once by the SQL sources when a
 * run needs more than one page). Kept beside the contract's Batch as an optional extra field so
 * connectors that do not know simply say nothing.
 */
export interface ProgressHint {
  rowsTotal?: number;
}

export function withRowsTotal<B extends Batch<any>>(batch: B, rowsTotal: number | undefined): B & ProgressHint {
  return rowsTotal === undefined ? batch : Object.assign(batch, { rowsTotal });
}

export function rowsTotalOf(batch: Batch<any>): number | undefined {
  const n = (batch as ProgressHint).rowsTotal;
  return typeof n === 'number' && Number.isFinite(n) && n >= 0 ? n : undefined;
}

/** Accumulates a run's figures and turns them into a PollProgress. */
export class ProgressTracker {
  rowsRead = 0;
  eventsWritten = 0;
  rowErrors = 0;
  rowsTotal: number | undefined;
  private readonly t0: number;

  constructor(private readonly instanceId: string, private readonly now: () => number = () => performance.now()) {
    this.t0 = now();
  }

  add(batch: { rowsRead: number; eventsWritten: number; rowErrors: number; rowsTotal?: number | undefined }): void {
    this.rowsRead += batch.rowsRead;
    this.eventsWritten += batch.eventsWritten;
    this.rowErrors += batch.rowErrors;
    // The total counted by the source covers the rows from where this run started.
    if (batch.rowsTotal !== undefined && this.rowsTotal === undefined) this.rowsTotal = batch.rowsTotal;
  }

  snapshot(done = false): PollProgress {
    const elapsedMs = Math.max(0, this.now() - this.t0);
    const rowsPerSec = elapsedMs > 0 ? (this.rowsRead / elapsedMs) * 1000 : 0;
    const p: PollProgress = { instanceId: this.instanceId, rowsRead: this.rowsRead, eventsWritten: this.eventsWritten, rowErrors: this.rowErrors, elapsedMs, rowsPerSec, done };
    if (this.rowsTotal !== undefined) {
      // Rows may be added while the run reads: the total is never below what was read.
      p.rowsTotal = Math.max(this.rowsTotal, this.rowsRead);
      if (done) p.etaMs = 0;
      else if (rowsPerSec > 0) p.etaMs = ((p.rowsTotal - this.rowsRead) / rowsPerSec) * 1000;
    }
    return p;
  }
}

function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

const int = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** One human line: "pratiche: 120,000 / 1,000,000 rows (12.0%), 119,870 events, 21,400 rows/s, 41s left". */
export function formatProgress(p: PollProgress): string {
  const parts = [`${p.instanceId}: ${int.format(p.rowsRead)}${p.rowsTotal !== undefined ? ` / ${int.format(p.rowsTotal)}` : ''} rows`];
  if (p.rowsTotal) parts[0] += ` (${((p.rowsRead / p.rowsTotal) * 100).toFixed(1)}%)`;
  parts.push(`${int.format(p.eventsWritten)} events`);
  if (p.rowErrors) parts.push(`${int.format(p.rowErrors)} row errors`);
  parts.push(`${int.format(p.rowsPerSec)} rows/s`);
  if (p.done) parts.push(`done in ${duration(p.elapsedMs)}`);
  else if (p.etaMs !== undefined) parts.push(`${duration(p.etaMs)} left`);
  else parts.push(`${duration(p.elapsedMs)} elapsed`);
  return parts.join(', ');
}

export interface ProgressPrinterOptions {
  /** Where a terminal gets the refreshing line (stderr). */
  stream: NodeJS.WriteStream;
  /** Not a terminal: periodic log lines instead. */
  log: Logger;
  /** Log line interval when not on a terminal. */
  logEveryMs?: number;
  /** Terminal redraw interval. */
  redrawEveryMs?: number;
  clock?: () => number;
}

/**
 * The callback `ponte poll` hands the runner: a line redrawn in place on a terminal, a log line
 * every few seconds otherwise (so a piped or scheduled run's log is not flooded). Silent for a
 * run that ends before the first interval: a small incremental poll prints nothing extra.
 */
export function progressPrinter(opts: ProgressPrinterOptions): (p: PollProgress) => void {
  const clock = opts.clock ?? Date.now;
  const tty = Boolean(opts.stream.isTTY);
  const every = tty ? (opts.redrawEveryMs ?? 250) : (opts.logEveryMs ?? 5000);
  const start = clock();
  let last = start;
  let shown = false;
  return (p) => {
    const t = clock();
    if (!p.done && t - last < every) return;
    if (p.done && !shown) return; // a short run: the runner's own "poll finished" line says it all
    last = t;
    shown = true;
    if (tty) opts.stream.write(`\r\x1b[2K${formatProgress(p)}${p.done ? '\n' : ''}`);
    else opts.log.info({ progress: { rowsRead: p.rowsRead, rowsTotal: p.rowsTotal, eventsWritten: p.eventsWritten, rowErrors: p.rowErrors, rowsPerSec: Math.round(p.rowsPerSec), etaSeconds: p.etaMs === undefined ? undefined : Math.round(p.etaMs / 1000) } }, formatProgress(p));
  };
}
