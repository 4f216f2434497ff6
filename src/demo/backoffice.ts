// A small demo back-office (SQLite) for the two reference connectors: appointments and ZTL
// permits, dated relative to `now` so every run of the demo shows the same situations.
// All people, fiscal codes and phone numbers are FICTITIOUS: the fiscal codes are built from
// invented names and dates, with the check character computed so they pass validation.
import type { Knex } from 'knex';
import { addDays, instantToWallTime, localDateOf } from '../util/local-time.js';

const ZONE = 'Europe/Rome';

// Check character of the codice fiscale (DM 23/12/1976): characters in odd positions (1st, 3rd
// ...) map through this table, even positions to 0-9 / A=0..Z=25; the sum mod 26 is the letter.
const ODD = [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23];

function charValue(ch: string): number {
  return /[0-9]/.test(ch) ? Number(ch) : ch.charCodeAt(0) - 65;
}

/** The check character for the first 15 characters of a fiscal code. */
export function fiscalCodeCheckCharacter(first15: string): string {
  if (!/^[A-Z0-9]{15}$/.test(first15)) throw new Error('expected 15 upper-case letters or digits');
  let sum = 0;
  for (let i = 0; i < 15; i++) {
    const v = charValue(first15[i]!);
    sum += i % 2 === 0 ? ODD[v]! : v;
  }
  return String.fromCharCode(65 + (sum % 26));
}

const withCheck = (first15: string) => first15 + fiscalCodeCheckCharacter(first15);

/** Fictitious people (invented names and birth data); every code has a correct check character. */
export const DEMO_FISCAL_CODES = {
  /** Mario Rossi, Roma 01/01/1980: the textbook example. */
  mario: withCheck('RSSMRA80A01H501'),
  /** Laura Bianchi, Milano 01/08/1985. */
  laura: withCheck('BNCLRA85M41F205'),
  /** Giuseppe Verdi, Torino 10/12/1990. */
  giuseppe: withCheck('VRDGPP90T10L219'),
  /** Giulia Ferrari, Firenze 12/04/1975. */
  giulia: withCheck('FRRGLI75D52D612'),
  /** Marco Esposito, Napoli 15/02/1992. */
  marco: withCheck('SPSMRC92B15F839'),
  /** Anna Colombo, Bologna 20/06/1968. */
  anna: withCheck('CLMNNA68H60A944'),
  /** Luca Ricci, Palermo 03/05/1988. */
  luca: withCheck('RCCLCU88E03G273'),
  /** Lucia Verdi, Milano 05/05/1990: the demo citizen WITHOUT the IO app (sandbox `notOnIo`). */
  lucia: withCheck('VRDLCU90E45F205'),
} as const;

/** Same as Laura's code with the wrong check character: the runner must reject it. */
export const DEMO_INVALID_FISCAL_CODE = (() => {
  const valid = DEMO_FISCAL_CODES.laura;
  const wrong = valid.endsWith('Z') ? 'A' : String.fromCharCode(valid.charCodeAt(15) + 1);
  return valid.slice(0, 15) + wrong;
})();

/** Appointment ids by situation. */
export const DEMO_APPOINTMENTS = {
  /** Starts in about 3 hours: reminder due at once. */
  in3h: 101,
  /** Starts in about 20 hours: reminder due at once. */
  in20h: 102,
  /** Starts in about 40 hours: reminder waits about 16 hours. */
  in40h: 103,
  /** Cancelled: no reminder. */
  cancelled: 104,
  /** Confirmed but without date/time: row error. */
  nullStart: 105,
  /** Fiscal code with a wrong check character: the runner rejects it. */
  invalidFiscalCode: 106,
  /** `servizio` of about 10,500 characters: the IO markdown is too long. */
  hugeService: 107,
} as const;

/** ZTL permit ids by situation. */
export const DEMO_PERMITS = {
  /** Expires in 6 days: its 7-day notice is due now whatever the hour of the demo. */
  in6days: 201,
  /** Expires in 20 days: 30-day notice due now (catch-up), 7-day notice in 13 days. Holder not on IO. */
  in20days: 202,
  /** Expires in 60 days: nothing yet. */
  in60days: 203,
  /** Revoked: nothing. */
  revoked: 204,
} as const;

export const DEMO_HUGE_SERVICE_LENGTH = 10_500;

const HOUR = 3_600_000;
const QUARTER = 15 * 60_000;

/** Local wall time `hours` from now, rounded up to the quarter hour like real booking slots. */
function slot(now: Date, hours: number): string {
  const t = Math.ceil((now.getTime() + hours * HOUR) / QUARTER) * QUARTER;
  return instantToWallTime(new Date(t), ZONE);
}

const ANAGRAFE = 'Ufficio Anagrafe – Piazza del Comune 1';
const TRIBUTI = 'Ufficio Tributi – Via Roma 12';
const POLIZIA = 'Comando di Polizia Locale – Via Garibaldi 5';

/** Drops and recreates the demo tables `appuntamenti` and `permessi_ztl` in a SQLite database. */
export async function seedDemoBackoffice(knex: Knex, now: Date = new Date()): Promise<void> {
  await knex.schema.dropTableIfExists('appuntamenti');
  await knex.schema.dropTableIfExists('permessi_ztl');
  await knex.schema.createTable('appuntamenti', (t) => {
    t.integer('id').primary();
    t.string('codice_fiscale', 16);
    t.string('telefono', 20);
    t.string('lingua', 5);
    // Europe/Rome wall time as text 'YYYY-MM-DD HH:MM:SS', as SQLite back-offices keep it.
    t.dateTime('data_ora');
    t.string('stato', 20).notNullable();
    t.string('ufficio', 200);
    t.text('servizio');
    t.string('indirizzo', 200);
  });
  await knex.schema.createTable('permessi_ztl', (t) => {
    t.integer('id').primary();
    t.string('codice_fiscale', 16);
    t.string('telefono', 20);
    t.string('lingua', 5);
    t.string('targa', 10);
    t.date('scadenza'); // 'YYYY-MM-DD'
    t.string('stato', 20).notNullable();
  });

  const A = DEMO_APPOINTMENTS;
  const F = DEMO_FISCAL_CODES;
  const hugeService = 'Pratica di cambio di residenza con dichiarazione sostitutiva e allegati. '.repeat(200).slice(0, DEMO_HUGE_SERVICE_LENGTH - 1) + '.';
  await knex('appuntamenti').insert([
    { id: A.in3h, codice_fiscale: F.mario, telefono: '+39 333 000 0101', lingua: 'it', data_ora: slot(now, 3), stato: 'CONFERMATO', ufficio: ANAGRAFE, servizio: "Rilascio carta d'identità elettronica", indirizzo: 'Piazza del Comune 1, piano terra, sportello 2' },
    { id: A.in20h, codice_fiscale: F.giulia, telefono: '+39 333 000 0102', lingua: 'en', data_ora: slot(now, 20), stato: 'CONFERMATO', ufficio: TRIBUTI, servizio: 'Informazioni e rateizzazione TARI', indirizzo: 'Via Roma 12, primo piano' },
    { id: A.in40h, codice_fiscale: F.giuseppe, telefono: null, lingua: null, data_ora: slot(now, 40), stato: 'CONFERMATO', ufficio: ANAGRAFE, servizio: 'Cambio di residenza', indirizzo: null },
    { id: A.cancelled, codice_fiscale: F.anna, telefono: '+39 333 000 0104', lingua: 'it', data_ora: slot(now, 30), stato: 'ANNULLATO', ufficio: ANAGRAFE, servizio: 'Certificato di stato di famiglia', indirizzo: 'Piazza del Comune 1' },
    { id: A.nullStart, codice_fiscale: F.marco, telefono: '+39 333 000 0105', lingua: 'it', data_ora: null, stato: 'CONFERMATO', ufficio: TRIBUTI, servizio: 'Rimborso IMU', indirizzo: 'Via Roma 12' },
    { id: A.invalidFiscalCode, codice_fiscale: DEMO_INVALID_FISCAL_CODE, telefono: '+39 333 000 0106', lingua: 'it', data_ora: slot(now, 22), stato: 'CONFERMATO', ufficio: ANAGRAFE, servizio: 'Autentica di firma', indirizzo: 'Piazza del Comune 1' },
    { id: A.hugeService, codice_fiscale: F.luca, telefono: '+39 333 000 0107', lingua: 'it', data_ora: slot(now, 26), stato: 'CONFERMATO', ufficio: ANAGRAFE, servizio: hugeService, indirizzo: 'Piazza del Comune 1' },
  ]);

  const P = DEMO_PERMITS;
  const today = localDateOf(now, ZONE);
  await knex('permessi_ztl').insert([
    { id: P.in6days, codice_fiscale: F.laura, telefono: '+39 333 000 0201', lingua: 'it', targa: 'AB123CD', scadenza: addDays(today, 6), stato: 'ATTIVO' },
    { id: P.in20days, codice_fiscale: F.lucia, telefono: '+39 333 000 0202', lingua: 'it', targa: 'EF456GH', scadenza: addDays(today, 20), stato: 'ATTIVO' },
    { id: P.in60days, codice_fiscale: F.giulia, telefono: '+39 333 000 0203', lingua: 'en', targa: 'FL789MN', scadenza: addDays(today, 60), stato: 'ATTIVO' },
    { id: P.revoked, codice_fiscale: F.anna, telefono: '+39 333 000 0204', lingua: 'it', targa: 'PR012ST', scadenza: addDays(today, 10), stato: 'REVOCATO' },
  ]);
}

/** Where the demo offices are, for a demo config or UI. */
export const DEMO_OFFICES = { anagrafe: ANAGRAFE, tributi: TRIBUTI, poliziaLocale: POLIZIA } as const;
