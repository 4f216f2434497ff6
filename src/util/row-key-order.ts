// Back-office row keys in the order a person expects: 9 before 10 (numeric ids compare as
// numbers), text keys alphabetically, whatever the database returned them as.
const collator = new Intl.Collator('en', { numeric: true });

export function compareRowKeys(a: string, b: string): number {
  return collator.compare(a, b) || (a < b ? -1 : a > b ? 1 : 0);
}
