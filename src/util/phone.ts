// Phone numbers as WhatsApp needs them: E.164 with "+", Italy as the default region.
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';

/** "+393471234567", or null when the text is not a valid number. */
export function toE164(raw: string | null | undefined, region: CountryCode = 'IT'): string | null {
  if (!raw) return null;
  const parsed = parsePhoneNumberFromString(String(raw).trim(), region);
  return parsed?.isValid() ? parsed.number : null;
}
