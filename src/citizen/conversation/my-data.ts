// "I MIEI DATI": what the service holds about the citizen, in words. Shown only to the citizen
// himself (in the chat with his own number), so nothing is masked here; it is never logged.
import type { CitizenData } from '../../store/citizen-data.js';
import type { CitizenService } from '../service/index.js';

/** "5 dicembre 2026 alle ore 07:33": the citizen's local time (the office's zone), not UTC. */
const when = (ms: number, timeZone: string) =>
  new Intl.DateTimeFormat('it-IT', { timeZone, day: 'numeric', month: 'long', year: 'numeric', hour: '2-digit', minute: '2-digit' }).format(ms);

export function describeData(d: CitizenData, service: CitizenService, phone?: string): string {
  const topicTitle = (id: string) => service.topics.find((t) => t.id === id)?.title ?? id;
  const attrTitle = (name: string, value: string) => {
    const a = service.profile?.attributes[name];
    return a?.options.find((o) => o.id === value)?.title ?? value;
  };
  const lines: string[] = [];
  if (phone) lines.push(`• Numero: ${phone}`);
  lines.push(`• Iscrizioni: ${d.subscriptions.length ? d.subscriptions.map(topicTitle).join(', ') : 'nessuna'}`);
  const profile = Object.entries(d.profile);
  lines.push(`• Profilo: ${profile.length ? profile.map(([k, v]) => `${service.profile?.attributes[k]?.question.replace(/\?$/, '') ?? k}: ${attrTitle(k, v)}`).join('; ') : 'nessuna risposta'}`);
  lines.push(`• Consenso ai promemoria WhatsApp: ${d.consent === 'opted_in' ? 'sì' : d.consent === 'opted_out' ? 'no' : 'mai espresso'}`);
  lines.push(`• Registro dei consensi: ${d.consentEvents} ${d.consentEvents === 1 ? 'modifica' : 'modifiche'} (data, testo ricevuto, versione dell'informativa ${service.privacy.version})`);
  lines.push(`• Messaggi che ci hai scritto: ${d.inboundMessages}`);
  if (d.session) {
    const state = d.session.handoff === 'bot' || d.session.handoff === 'closed' ? 'con l\'assistente' : 'con un operatore';
    lines.push(`• Conversazione: ${state}${d.session.lastInboundAt ? `, ultimo messaggio ${when(d.session.lastInboundAt, service.handoff.officeHours.zone)}` : ''}`);
  }
  return lines.join('\n');
}
