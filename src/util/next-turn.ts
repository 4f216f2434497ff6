// Long synchronous loops over a page (mapping a thousand rows, checking a thousand events) block
// the event loop, and with it the commit running beside them: each of the commit's statements
// needs a turn of the loop to be sent. Giving one back every SLICE items keeps the two overlapped.

/** Items handled between two turns of the event loop. */
export const SLICE = 100;

/** Resolves on the next turn of the event loop, after pending I/O callbacks. */
export function nextTurn(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}

let shared: Promise<void> | null = null;

/**
 * Resolves at the end of this turn of the event loop, at once for every caller of the turn (one
 * promise): their continuations then run back to back. Network requests started that way leave
 * in one burst; with a nextTurn() each, the loop's other callbacks ran between them, and a loop
 * of requests over loopback gained far less (0 ms endpoint, 2 cores: 3,815 → 4,412–5,223
 * requests/s, against 6,467–7,154 with one shared promise).
 */
export function endOfTurn(): Promise<void> {
  return (shared ??= new Promise<void>((resolve) => setImmediate(() => { shared = null; resolve(); })));
}
