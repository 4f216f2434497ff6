// Shared test data for the IO sandbox and the AppIO channel tests.
import { fiscalCodeCheckChar } from '../../src/util/fiscal-code.js';

/** The n-th (0..999) of a family of valid, made-up fiscal codes: RSSMRA80A01H + nnn + check. */
export function fiscalCode(n: number): string {
  const first15 = `RSSMRA80A01H${String(n).padStart(3, '0')}`;
  return first15 + fiscalCodeCheckChar(first15);
}

/** Within IO's limits: subject 10..120, markdown 80..10000 characters. */
export const SUBJECT = 'Appuntamento in anagrafe';
export const MARKDOWN =
  'Ti ricordiamo il tuo appuntamento allo **sportello anagrafe** di domani alle 9:30.\n\nPorta un documento di identità.';

/** POST with a JSON body to the sandbox, as a plain client would. */
export async function post(url: string, body: unknown, key: string | undefined = 'test-key') {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(key ? { 'Ocp-Apim-Subscription-Key': key } : {}) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json().catch(() => undefined)) as any };
}

export async function get(url: string, key: string | undefined = 'test-key') {
  const res = await fetch(url, { headers: key ? { 'Ocp-Apim-Subscription-Key': key } : {} });
  return { status: res.status, headers: res.headers, body: (await res.json().catch(() => undefined)) as any };
}
