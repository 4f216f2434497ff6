// What a sandbox remembers of the requests it served. Tests read every one; the sandbox embedded
// in a long `ponte run` (sandbox mode) must not grow with them, so it keeps only the latest.

/** How many requests the embedded sandboxes keep: enough to look at, a few MiB at most. */
export const EMBEDDED_KEEP_REQUESTS = 10_000;

/**
 * Appends `item`, keeping the last `keep` (Infinity: all). Trimmed a tenth past the bound, so a
 * request costs one splice per `keep / 10` of them, not one each; the array stays the same object.
 */
export function keepLast<T>(list: T[], item: T, keep: number): void {
  list.push(item);
  if (list.length > keep + Math.ceil(keep / 10)) list.splice(0, list.length - keep);
}
