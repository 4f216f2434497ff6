// `ponte deliveries` and `ponte delivery show|resend|cancel|confirm`: what went out, why
// something failed, and the operator's remedies (the uncertain-send policy ends here).
import type { GlobalOptions } from './common.js';
import { withStore } from './store-only.js';
import { deliveryDetail, listDeliveries, operatorAction, type OperatorAction } from '../store/operator.js';
import { maskDeep, maskFiscalCode, maskText } from '../util/mask.js';

const iso = (ms: number | null) => (ms == null ? '-' : new Date(Number(ms)).toISOString());

export async function listCommand(opts: GlobalOptions & { state?: string; limit?: string }): Promise<number> {
  return withStore(opts, async (s) => {
    const rows = await listDeliveries(s.knex, { ...(opts.state ? { state: opts.state } : {}), limit: Number(opts.limit ?? 50) });
    if (opts.json) { console.log(JSON.stringify(maskDeep(rows), null, 2)); return 0; }
    if (rows.length === 0) console.log('no deliveries match');
    for (const r of rows) {
      console.log(`#${r.id} ${r.channel} ${r.state.toUpperCase()} ${r.type} ${r.dedup_key}${r.reason || r.last_error ? ` — ${maskText(r.reason ?? r.last_error ?? '')}` : ''}`);
    }
    return 0;
  });
}

export async function showCommand(id: string, opts: GlobalOptions): Promise<number> {
  return withStore(opts, async (s) => {
    const d = await deliveryDetail(s.knex, Number(id));
    if (!d) { console.error(`delivery ${id} does not exist`); return 1; }
    if (opts.json) { console.log(JSON.stringify(maskDeep(d), null, 2)); return 0; }
    const { delivery: x, event: e } = d;
    console.log([
      `Delivery #${x.id} on ${x.channel}: ${x.state.toUpperCase()}`,
      `  event       ${e.dedup_key} [${e.type}] from ${e.instance_id}`,
      `  recipient   ${maskFiscalCode(e.fiscal_code)}`,
      `  send from   ${iso(e.not_before)}   expires ${iso(e.expires_at)}`,
      `  attempts    ${x.attempts}   next ${iso(x.next_attempt_at)}   provider id ${x.provider_id ?? '-'}`,
      `  reason      ${maskText(x.reason ?? '-')}`,
      `  last error  ${maskText(x.last_error ?? '-')}`,
      '  history:',
      ...d.attempts.map((a) => `    ${iso(a.started_at)} ${a.kind.padEnd(6)} ${a.outcome.padEnd(10)} ${a.http_status ?? ''} ${a.duration_ms} ms ${maskText(a.error ?? '')}`),
    ].join('\n'));
    return 0;
  });
}

export async function actionCommand(action: OperatorAction, ids: string[], opts: GlobalOptions & { providerId?: string; note?: string }): Promise<number> {
  return withStore(opts, async (s) => {
    let failed = 0;
    for (const id of ids) {
      try {
        const to = await operatorAction(s.knex, Number(id), action, { ...(opts.providerId ? { providerId: opts.providerId } : {}), ...(opts.note ? { note: opts.note } : {}) });
        console.log(`delivery ${id}: now ${to}`);
      } catch (e) {
        failed++;
        console.error((e as Error).message);
      }
    }
    return failed ? 1 : 0;
  });
}
