// The key behind the refs that name citizens in logs ("tel#…", "cf#…", see the channels'
// privacy.ts). An unkeyed hash of a phone number or a fiscal code is not a pseudonym: the Italian
// mobile range is brute-forced in minutes, and a fiscal code is confirmed instantly by anyone
// holding a list of residents. So a ref is an HMAC under a secret key.
//
// The key must be the same for every process of one installation, so that an operator can follow
// a citizen across restarts, `ponte run` and the other commands (and find their lines with
// `ponte ref`): it is derived from the store's own secret (migration 008) when a command opens
// its store (setRefKey, from src/store/store-meta.ts). Until then — or in a process that never
// opens a store — a random key drawn at start is used: refs then correlate within that process
// only, which is still better than a ref anyone could reverse.
import { createHmac, randomBytes } from 'node:crypto';

let key: Buffer = randomBytes(32);

/** The refs' key, derived from a store's secret: a separate key, so a ref never equals (or leaks) a broadcast pseudonym. */
export function refKeyFromStoreSecret(storeSecret: string): Buffer {
  return createHmac('sha256', storeSecret).update('log-refs').digest();
}

/** Use `k` for every ref from now on (called once a command has opened its store). */
export function setRefKey(k: Buffer): void {
  key = k;
}

/** The first 12 hex digits of HMAC-SHA256(current key, text): 48 bits, enough to tell citizens apart in logs. */
export function keyedRef(text: string): string {
  return createHmac('sha256', key).update(text).digest('hex').slice(0, 12);
}
