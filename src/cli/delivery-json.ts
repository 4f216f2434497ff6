// The --json form of deliveries for scripts: instants as ISO strings (as the text output shows
// them), JSON columns as objects (not JSON inside strings), and no claim internals (lease token
// and deadline say which process holds it, for a moment; nothing a script should act on).
const INSTANTS = new Set(['created_at', 'updated_at', 'next_attempt_at', 'sent_at', 'finished_at', 'not_before', 'expires_at', 'started_at']);
const JSON_TEXT = new Set(['options', 'payload', 'route']);
const INTERNAL = new Set(['lease_token', 'lease_until']);

export function deliveryJson(row: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) {
    if (INTERNAL.has(k)) continue;
    if (INSTANTS.has(k) && v != null && Number.isFinite(Number(v))) out[k] = new Date(Number(v)).toISOString();
    else if (JSON_TEXT.has(k) && typeof v === 'string') out[k] = parsed(v);
    else out[k] = v;
  }
  return out;
}

function parsed(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text; // not JSON after all: shown as stored
  }
}
