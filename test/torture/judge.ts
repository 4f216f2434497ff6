// The verdict of a torture run, from what IO (the sandbox) actually received — not from what
// Ponte's store believes. The store is read only to learn which deliveries are held `uncertain`
// (the one state allowed to disagree with IO) and to cross-check recorded message ids.

export interface JudgedMessage {
  id: string;
  fiscalCode: string;
  createdAt: Date;
}

export interface JudgedDelivery {
  id: number;
  fiscalCode: string;
  state: string;
  providerId: string | null;
  reason: string | null;
  lastError?: string | null;
}

/** A delivery found `sending` in the store right after a kill (its process gone). */
export interface InFlightAtKill {
  kill: number;
  /** Any copy of its message must have reached IO before this instant (the next life cannot have sent it). */
  copiesBefore: number;
}

export interface JudgeInput {
  /** One fiscal code per back-office row: each must get exactly one message. */
  expected: string[];
  messages: JudgedMessage[];
  deliveries: JudgedDelivery[];
  events: number;
  inFlight: Map<number, InFlightAtKill>;
}

export interface Verdict {
  expected: number;
  events: number;
  messages: number;
  /** Expected citizens with at least one message. */
  reached: number;
  /** Citizens with two or more messages (allowed only for uncertain deliveries). */
  duplicates: number;
  processed: number;
  uncertain: number;
  /** Uncertain deliveries whose message did reach IO (an operator confirms them). */
  uncertainAtIo: number;
  /** Uncertain deliveries with no message at IO (killed before the request got there). */
  uncertainNotAtIo: number;
  /** Distinct deliveries found in flight at some kill. */
  inFlightAtKills: number;
  /** Of those, the ones not held uncertain: their request had not left (the send journal said so), sent once later. */
  inFlightSentAgain: number;
  /** Citizens without a message whose delivery is not held uncertain. */
  lost: number;
  violations: string[];
}

const SHOWN = 25;

export function judge(input: JudgeInput): Verdict {
  const violations: string[] = [];
  const expected = new Set(input.expected);
  const copies = new Map<string, JudgedMessage[]>();
  for (const m of input.messages) {
    if (!expected.has(m.fiscalCode)) violations.push(`message ${m.id} at IO for a citizen no row names`);
    else copies.set(m.fiscalCode, [...(copies.get(m.fiscalCode) ?? []), m]);
  }
  const byCode = new Map<string, JudgedDelivery[]>();
  for (const d of input.deliveries) byCode.set(d.fiscalCode, [...(byCode.get(d.fiscalCode) ?? []), d]);

  if (input.events !== input.expected.length) violations.push(`${input.events} events in the store for ${input.expected.length} back-office rows`);
  const v: Verdict = {
    expected: input.expected.length, events: input.events, messages: input.messages.length, reached: 0, duplicates: 0,
    processed: 0, uncertain: 0, uncertainAtIo: 0, uncertainNotAtIo: 0, inFlightAtKills: input.inFlight.size, inFlightSentAgain: 0, lost: 0, violations,
  };

  input.expected.forEach((code, row) => {
    const got = copies.get(code) ?? [];
    const ds = byCode.get(code) ?? [];
    const who = `row ${row + 1}`;
    if (got.length > 0) v.reached++;
    if (got.length > 1) v.duplicates++;
    if (ds.length !== 1) {
      if (got.length === 0) v.lost++;
      violations.push(`${who}: ${ds.length} deliveries in the store (expected 1), ${got.length} message(s) at IO`);
      return;
    }
    const d = ds[0]!;
    if (d.state === 'uncertain') {
      v.uncertain++;
      if (got.length > 0) v.uncertainAtIo++;
      else v.uncertainNotAtIo++;
      const flight = input.inFlight.get(d.id);
      if (!flight) {
        violations.push(`${who}: delivery ${d.id} is uncertain but no kill found it in flight (${d.reason ?? 'no reason'}${d.lastError ? `: ${d.lastError}` : ''})`);
        return;
      }
      const late = got.filter((m) => m.createdAt.getTime() >= flight.copiesBefore);
      if (late.length) violations.push(`${who}: delivery ${d.id} uncertain since kill ${flight.kill}, yet IO got ${late.length} message(s) after it: resent silently`);
      return;
    }
    if (input.inFlight.has(d.id)) v.inFlightSentAgain++;
    if (got.length === 0) {
      v.lost++;
      violations.push(`${who}: no message at IO, delivery ${d.id} is ${d.state}${d.reason ? ` (${d.reason})` : ''}`);
      return;
    }
    if (got.length > 1) violations.push(`${who}: ${got.length} messages at IO but delivery ${d.id} is ${d.state}, not uncertain`);
    if (d.state !== 'processed') {
      violations.push(`${who}: delivery ${d.id} ended ${d.state}${d.reason ? ` (${d.reason})` : ''}`);
      return;
    }
    v.processed++;
    if (!got.some((m) => m.id === d.providerId)) violations.push(`${who}: delivery ${d.id} records IO message ${d.providerId ?? 'none'}, IO has ${got.map((m) => m.id).join(', ')}`);
  });

  if (violations.length > SHOWN) violations.splice(SHOWN, violations.length - SHOWN, `… and ${violations.length - SHOWN} more`);
  return v;
}
