// The connectors' templates render with the project's strict renderer and meet IO's rules.
import { describe, expect, it } from 'vitest';
import appointments from '../../connectors/appointments/index.js';
import ztlPermits from '../../connectors/ztl-permits/index.js';
import { checkIoMessage } from '../../src/messages/io-rules.js';
import { renderMessage } from '../../src/messages/render.js';

const reminder = appointments.eventTypes['appointment.reminder']!;
const expiry = ztlPermits.eventTypes['ztl.expiry']!;

describe('appointment reminder templates', () => {
  const full = { start: '2026-03-29T08:00:00.000Z', office: 'Ufficio Anagrafe – Piazza del Comune 1', service: "Carta d'identità", address: 'Piazza del Comune 1' };

  it.each(['it', 'en'])('renders in %s with all fields, within IO limits', (lang) => {
    const m = renderMessage(reminder, full, lang);
    expect(checkIoMessage(m)).toEqual([]);
    expect(m.markdown).toContain('10:00'); // 08:00Z shown in Europe/Rome summer time
    expect(m.markdown).toContain('Ufficio Anagrafe – Piazza del Comune 1');
    expect(m.subject).not.toMatch(/Anagrafe|10:00|2026/);
  });

  it.each(['it', 'en'])('renders in %s with only the start (optional fields defaulted)', (lang) => {
    const m = renderMessage(reminder, { start: full.start }, lang);
    expect(checkIoMessage(m)).toEqual([]);
    expect(m.markdown).not.toMatch(/undefined|null/);
  });

  it('names the weekday and the time, in Rome, across the DST change and at midnight', () => {
    expect(renderMessage(reminder, { start: '2026-10-25T08:30:00.000Z' }, 'it').markdown).toContain("l'appuntamento di **domenica 25 ottobre 2026 alle 09:30**.");
    expect(renderMessage(reminder, { start: '2026-03-28T23:15:00.000Z' }, 'it').markdown).toContain("l'appuntamento di **domenica 29 marzo 2026 alle 00:15**.");
    expect(renderMessage(reminder, { start: '2026-12-05T16:30:00.000Z' }, 'en').markdown).toContain('appointment on **Saturday, 5 December 2026 at 17:30**.');
  });

  it('the Italian text uses the informal "tu"', () => {
    const m = renderMessage(reminder, full, 'it');
    expect(m.markdown).toMatch(/Ti ricordiamo/);
    expect(m.markdown).not.toMatch(/Gentile|La preghiamo|Lei /);
  });
});

describe('ZTL expiry templates', () => {
  it.each(['it', 'en'])('renders in %s with the plate in the body only', (lang) => {
    const m = renderMessage(expiry, { plate: 'AB123CD', expiresOn: '2026-04-17', daysBefore: 7 }, lang);
    expect(checkIoMessage(m, { personalValues: ['AB123CD'] })).toEqual([]);
    expect(m.markdown).toContain('AB123CD');
    expect(m.markdown).toMatch(/17 (aprile|April) 2026/);
  });
});
