// `ponte ref <phone-or-fiscal-code>`: the ref (tel#…, cf#…) that names this citizen in the logs,
// to grep for when the citizen calls the office. Refs are keyed by the store (src/log/ref-key.ts),
// so this opens the configured store: the ref printed is the one every Ponte process here logs.
import type { GlobalOptions } from './common.js';
import { withStore } from './store-only.js';
import { toE164 } from '../util/phone.js';
import { checkFiscalCode, normalizeFiscalCode } from '../util/fiscal-code.js';
import { maskText } from '../util/mask.js';
import { phoneRef } from '../channels/whatsapp/privacy.js';
import { fiscalCodeRef } from '../channels/appio/privacy.js';

/** The text to key, or why `raw` is neither a phone number nor a fiscal code. */
function parse(raw: string): { ref: () => string } | { error: string } {
  // Letters mean a fiscal code (a phone number has none); its own check names what is wrong.
  if (/[A-Za-z]/.test(raw)) {
    const why = checkFiscalCode(raw);
    if (why) return { error: `not a valid fiscal code: ${why}` };
    const cf = normalizeFiscalCode(raw);
    return { ref: () => fiscalCodeRef(cf) };
  }
  const e164 = toE164(raw);
  if (!e164) return { error: 'not a valid phone number (Italian numbers may omit +39)' };
  return { ref: () => phoneRef(e164) };
}

export async function refCommand(raw: string, opts: GlobalOptions): Promise<number> {
  const parsed = parse(raw);
  if ('error' in parsed) {
    // Echoed masked, like everything Ponte prints: a near-miss may still be someone's code.
    console.error(`ponte: ref: "${maskText(raw)}" is ${parsed.error}; expected a phone number or a fiscal code`);
    return 2;
  }
  return withStore(opts, async () => {
    // Only the ref on stdout, so `grep "$(npx ponte ref …)"` works.
    console.log(parsed.ref());
    return 0;
  });
}
