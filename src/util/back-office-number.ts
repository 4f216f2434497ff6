// Numbers as back-offices write them, in text columns and CSV files as often as in numeric ones.

/**
 * A number as a back-office writes it: "-12,50" and "1.234,50" (Italian), "-12.50", "1234";
 * null when the text is not one.
 */
export function backOfficeNumber(text: string): number | null {
  // A currency sign or code beside the amount ("-12,50 €", "EUR 3,00") is not part of the number.
  let t = text.replace(/€|\bEUR\b/gi, '').trim().replace(/\s+/g, '').replace(/^\u2212/, '-');
  if (t.includes(',')) t = t.replace(/\.(?=\d{3}(\D|$))/g, '').replace(',', '.');
  if (!/^[-+]?(\d+\.?\d*|\.\d+)$/.test(t)) return null;
  return Number(t);
}
