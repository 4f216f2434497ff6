// Long synchronous loops over a page (mapping a thousand rows, checking a thousand events) block
// the event loop, and with it the commit running beside them: each of the commit's statements
// needs a turn of the loop to be sent. Giving one back every SLICE items keeps the two overlapped.

/** Items handled between two turns of the event loop. */
export const SLICE = 100;

/** Resolves on the next turn of the event loop, after pending I/O callbacks. */
export function nextTurn(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}
