// Spreading a broadcast over days so the account never exceeds its messaging limit: each day
// gets at most (limit × (1 − reserve)) − already booked, and the reserve stays free for the
// reminders of individual events, which keep priority.
export interface PlanInput {
  audience: number;
  /** Unique citizens per 24 h; -1 = unlimited. */
  limit: number;
  /** Citizens already booked per day (index 0 = the next 24 h). */
  booked: number[];
  reserve: number;
}

/** How many recipients go on each day (index 0 = now). */
export function planDays(p: PlanInput): number[] {
  if (p.audience === 0) return [];
  if (p.limit === -1) return [p.audience];
  const budget = Math.floor(p.limit * (1 - p.reserve));
  if (budget < 1) throw new Error(`messaging limit ${p.limit} with reserve ${p.reserve} leaves nothing for broadcasts`);
  const out: number[] = [];
  let left = p.audience;
  for (let day = 0; left > 0; day++) {
    const room = Math.max(0, budget - (p.booked[day] ?? 0));
    const n = Math.min(room, left);
    out.push(n);
    left -= n;
    if (day > 3650) throw new Error('broadcast plan does not converge');
  }
  return out;
}
