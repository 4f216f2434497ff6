// The embedded default's WhatsApp routes filled in as a citizen reads them: the approved template's
// text (README, WhatsApp §2) with the parameters the route renders, optional fields left empty.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { buildTemplate, parseMapping } from '../../src/channels/whatsapp/template.js';

const APPROVED: Record<string, string> = {
  promemoria_appuntamento: "Ti ricordiamo l'appuntamento di {{1}} presso {{2}}. Per disdire chiama il numero indicato sul sito del Comune.",
  scadenza_permesso_ztl: 'Il tuo permesso ZTL per il veicolo {{1}} scade il {{2}}. Puoi rinnovarlo sul sito del Comune.',
};

function text(connectorId: string, data: Record<string, unknown>): string {
  const config = loadConfig('config/ponte.yaml');
  const c = config.connectors.find((x) => x.id === connectorId)!;
  const step = c.deliver.channels.find((s) => s.channel === 'whatsapp')!;
  const { channel: _, ...options } = step;
  const t = buildTemplate(parseMapping(options, 'x'), data, { timeZone: config.timeZone, eventType: 'x' });
  const params = t.components.find((p) => p.type === 'body')!.parameters.map((p) => ('text' in p ? p.text : ''));
  expect(params).toHaveLength(APPROVED[t.name]!.match(/\{\{\d+\}\}/g)!.length);
  return APPROVED[t.name]!.replace(/\{\{(\d+)\}\}/g, (_m, n: string) => params[Number(n) - 1]!);
}

describe('demo config: WhatsApp texts', () => {
  it('an appointment without an office reads "presso il Comune"', () => {
    expect(text('demo-appuntamenti', { start: '2026-10-25T08:30:00Z' }))
      .toBe("Ti ricordiamo l'appuntamento di domenica 25 ottobre 2026 alle 09:30 presso il Comune. Per disdire chiama il numero indicato sul sito del Comune.");
  });

  it('a ZTL expiry names the plate and the day', () => {
    expect(text('demo-ztl', { plate: 'AB123CD', expiresOn: '2026-12-31', daysBefore: 7 }))
      .toBe('Il tuo permesso ZTL per il veicolo AB123CD scade il 31 dicembre 2026. Puoi rinnovarlo sul sito del Comune.');
  });
});
