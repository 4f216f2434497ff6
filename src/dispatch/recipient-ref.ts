// Whom a delivery is for, as the logs name citizens: the ref `ponte ref` prints (tel#…, cf#…),
// so a helpdesk can find a citizen's sends at the default level without a number in clear.
import type { DeliveryRow, EventRow } from '../store/rows.js';
import { phoneRef } from '../channels/whatsapp/privacy.js';
import { fiscalCodeRef } from '../channels/appio/privacy.js';
import { PURGED_FISCAL_CODE } from '../store/purge.js';

/** The number a WhatsApp message goes to, else the fiscal code; undefined once retention removed both. */
export function recipientRef(d: Pick<DeliveryRow, 'channel' | 'address'>, e: Pick<EventRow, 'fiscal_code' | 'phone'>): string | undefined {
  const phone = d.address ?? e.phone;
  if (d.channel === 'whatsapp' && phone) return phoneRef(phone);
  return e.fiscal_code && e.fiscal_code !== PURGED_FISCAL_CODE ? fiscalCodeRef(e.fiscal_code) : undefined;
}
