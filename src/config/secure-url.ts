// URLs that requests carrying a secret go to (IO's key, WhatsApp's token, the staff endpoint's
// token, and the citizens' data in the bodies): https, or plain http only to this machine (the
// sandboxes, a local proxy). An "http://api.io.pagopa.it" typo would otherwise send the key in
// clear before any answer could say the URL was wrong.
import { z } from 'zod';

const LOOPBACK = /^(?:localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;

export function isSecureUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.test(url.hostname));
  } catch {
    return false;
  }
}

/** A URL field whose requests carry `what`. */
export function secureUrl(what: string) {
  return z.url().refine(isSecureUrl, `must be https:// (plain http only to this machine): ${what} travels with every request`);
}
