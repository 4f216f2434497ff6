// Expiry notice texts. The plate may appear in the body but never in the subject (AgID: no
// personal data in the IO title). The body names the expiry date, not "in N days": a late
// catch-up notice would otherwise state the wrong number of days.
import type { EventTypeSpec } from '../../src/connectors/contract.js';

export const ztlExpiry: EventTypeSpec = {
  description: 'Notice some days before a ZTL (restricted traffic zone) access permit expires',
  templates: {
    it: {
      subject: 'Il tuo permesso ZTL sta per scadere',
      markdown: [
        'Il permesso di accesso alla ZTL per il veicolo targato **{{ plate }}** scade il **{{ expiresOn | date }}**.',
        '',
        'Se ti serve ancora, chiedi il rinnovo prima della scadenza: dopo quella data i transiti nella ZTL con questo veicolo possono essere sanzionati.',
        '',
        'Se hai già rinnovato il permesso, non devi fare nulla.',
        '',
      ].join('\n'),
    },
    en: {
      subject: 'Your ZTL access permit is about to expire',
      markdown: [
        'The restricted traffic zone (ZTL) access permit for the vehicle with plate **{{ plate }}** expires on **{{ expiresOn | date }}**.',
        '',
        'If you still need it, apply for renewal before it expires: after that date, driving into the ZTL with this vehicle may be fined.',
        '',
        'If you have already renewed the permit, there is nothing to do.',
        '',
      ].join('\n'),
    },
  },
};
