// `ponte consent import|set`: consents collected outside WhatsApp, recorded with their source.
import { recordOptOut } from '../store/citizen-data.js';
import type { GlobalOptions } from './common.js';
import { withStore } from './store-only.js';
import { importConsentCsv } from '../consent/import-csv.js';
import { recordConsent } from '../store/consent.js';
import { toE164 } from '../util/phone.js';
import { maskPhone } from '../util/mask.js';

export async function consentImportCommand(file: string, opts: GlobalOptions & { source: string }): Promise<number> {
  return withStore(opts, async (s, config) => {
    const r = await importConsentCsv(s.knex, file, opts.source, Date.now(), config.timeZone);
    if (opts.json) console.log(JSON.stringify(r, null, 2));
    else {
      console.log(`${file}: ${r.imported} consent change(s) recorded (source "${opts.source}"), ${r.cancelled} pending WhatsApp send(s) cancelled by opt-outs, ${r.errors.length} line(s) skipped`);
      for (const e of r.errors) console.log(`  line ${e.line} [${e.field}]: ${e.message}`);
    }
    return r.errors.length ? 1 : 0;
  });
}

export async function consentSetCommand(phone: string, action: string, opts: GlobalOptions & { source: string; note?: string; topic?: string }): Promise<number> {
  const e164 = toE164(phone);
  if (!e164) throw new Error('the phone number is not valid (Italian numbers may omit +39)');
  const act = action === 'opt-in' ? 'opt_in' : action === 'opt-out' ? 'opt_out' : null;
  if (!act) throw new Error(`action must be opt-in or opt-out, not "${action}"`);
  return withStore(opts, async (s) => {
    // An opt-out given at an office or on a web form: of one topic, or (no --topic) of everything,
    // topics included. A topic opt-in needs the citizen's own message, with the notice shown.
    if (opts.topic && act === 'opt_in') throw new Error('--topic works with opt-out only: a citizen subscribes to a topic from WhatsApp, where the privacy notice is shown');
    const { cancelled } = act === 'opt_out'
      ? await recordOptOut(s.knex, e164, opts.topic ?? null, opts.source, { note: opts.note ?? null })
      : await recordConsent(s.knex, { phone: e164, action: act, source: opts.source, text: opts.note ?? null, at: Date.now() });
    // The number as understood (masked), so a typo at the counter shows before the citizen leaves.
    console.log(`recorded ${action}${opts.topic ? ` of topic ${opts.topic}` : ''} for ${maskPhone(e164)} (source "${opts.source}")${cancelled ? `; ${cancelled} pending WhatsApp send(s) cancelled` : ''}`);
    return 0;
  });
}
