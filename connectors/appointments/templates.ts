// Reminder texts. Subjects carry no personal data (AgID guidelines: no name, fiscal code or
// date in the IO title); tone per the IO service manual: informal "tu", plain words.
// Optional fields use default(): the renderer treats a missing variable as an error.
import type { EventTypeSpec } from '../../src/connectors/contract.js';

export const appointmentReminder: EventTypeSpec = {
  description: 'Reminder sent a set number of hours before a confirmed appointment at a municipal office',
  templates: {
    it: {
      subject: 'Promemoria: hai un appuntamento in Comune',
      markdown: [
        // The weekday too: "sabato 5 dicembre" is harder to misread than "5 dicembre".
        "Ti ricordiamo l'appuntamento di **{{ start | datetime }}**.",
        '',
        '* **Ufficio:** {{ office | default("indicato nella prenotazione") }}',
        '* **Servizio:** {{ service | default("indicato nella prenotazione") }}',
        '* **Indirizzo:** {{ address | default("indicato nella prenotazione") }}',
        '',
        "Porta con te un documento d'identità valido. Se non puoi venire, disdici l'appuntamento: così il posto va a un'altra persona.",
        '',
      ].join('\n'),
    },
    en: {
      subject: 'Reminder: you have an appointment at the Town Hall',
      markdown: [
        'This is a reminder of your appointment on **{{ start | datetime }}**.',
        '',
        '* **Office:** {{ office | default("as stated in your booking") }}',
        '* **Service:** {{ service | default("as stated in your booking") }}',
        '* **Address:** {{ address | default("as stated in your booking") }}',
        '',
        "Bring a valid identity document. If you can't come, please cancel the appointment so that someone else can have the slot.",
        '',
      ].join('\n'),
    },
  },
};
