// `ponte` command line. Each subcommand lives in its own file under src/cli/.
import { Command } from 'commander';
import { action } from './common.js';
import { pollCommand } from './poll.js';
import { dispatchCommand } from './dispatch.js';
import { statusCommand } from './status.js';
import { migrateCommand } from './migrate.js';
import { runCommand } from './run.js';
import { demoCommand } from './demo.js';
import { sandboxCommand } from './sandbox.js';
import { actionCommand, listCommand, showCommand, type ListOptions } from './deliveries.js';
import { consentImportCommand, consentSetCommand } from './consent.js';
import { channelHaltCommand, channelResumeCommand } from './channel.js';
import { connectorNewCommand, connectorTestCommand } from './connector.js';
import { purgeCommand } from './purge.js';
import { broadcastCancelCommand, broadcastCreateCommand, broadcastListCommand } from './broadcast.js';
import { chatCommand } from './chat.js';
import { resolveLevel } from '../log/logger.js';
import { refCommand } from './ref.js';
import { installCrashReport } from './crash.js';

installCrashReport();

const program = new Command('ponte')
  .description('Ponte: notifications from municipal back-offices to citizens (AppIO, WhatsApp)')
  .version('0.1.0')
  .option('-c, --config <file>', 'configuration file (default: $PONTE_CONFIG or config/ponte.yaml)')
  .option('--log-level <level>', 'trace, debug, info, warn, error, silent (default: $PONTE_LOG_LEVEL or info)');

// commander's own usage errors (unknown option, missing argument, unknown command) exit 2 like
// ours (a bad option value); help and --version still exit 0. Set before the commands are added:
// they inherit it.
program.exitOverride((err) => {
  process.exit(err.exitCode === 0 ? 0 : 2);
});

const globals = () => program.opts<{ config?: string; logLevel?: string }>();

// Every command, not only those that log: a typo in --log-level or $PONTE_LOG_LEVEL is named at
// once (exit 2) instead of being accepted by one command and refused by the next.
program.hook('preAction', () => {
  try {
    resolveLevel(globals().logLevel);
  } catch (e) {
    console.error(`ponte: ${(e as Error).message}`);
    process.exit(2);
  }
});

program.command('run').description('run the daemon: connectors on their schedules, the dispatcher, status polling')
  .option('--no-poll-at-start', 'wait for each connector\'s first schedule instead of polling at start')
  .option('--grace-seconds <n>', 'on SIGTERM, how long in-flight sends may take to finish (default: shutdown.graceSeconds in the config, 30)')
  .option('--port <n>', 'the HTTP server\'s port (default: server.port in the config): one per process when several run on one host')
  .action(action((o: { pollAtStart?: boolean; graceSeconds?: string; port?: string }) => runCommand({ ...globals(), ...o })));

program.command('poll <connector>').description('poll one connector now')
  .option('--dry-run', 'print the events and the exact requests that would be sent; store and send nothing')
  .option('--reveal', 'with --dry-run: show fiscal codes and phone numbers in clear')
  .option('--json', 'machine-readable output')
  .action(action((id: string, o: { dryRun?: boolean; reveal?: boolean; json?: boolean }) => pollCommand(id, { ...globals(), ...o })));

program.command('dispatch').description('work the due deliveries')
  .option('--once', 'one pass, then exit (the only mode for now)', true)
  .option('--json', 'machine-readable output')
  .action(action((o: { once?: boolean; json?: boolean }) => dispatchCommand({ ...globals(), ...o })));

program.command('status').description('deliveries by state, why they did not go out (last 7 days), last run per connector, what needs attention')
  .option('--days <n>', 'the window of "why they did not go out", in days (default 7)')
  .option('--json', 'machine-readable output')
  .action(action((o: { json?: boolean; days?: string }) => statusCommand({ ...globals(), ...o })));

program.command('deliveries').description('list recent deliveries (newest first)')
  .option('--state <state>', 'only this state (e.g. uncertain, failed, dead, pending)')
  .option('--citizen <fiscal-code-or-phone>', "one citizen's deliveries (a helpdesk call: what did we send them, and why not)")
  .option('--connector <id>', 'only events of this connector instance')
  .option('--type <type>', 'only events of this type (e.g. tari.due)')
  .option('--channel <channel>', 'only deliveries on this channel (appio, whatsapp)')
  .option('--limit <n>', 'how many', '50')
  .option('--json', 'machine-readable output')
  .action(action((o: ListOptions & { json?: boolean }) => listCommand({ ...globals(), ...o })));

const delivery = program.command('delivery').description('inspect or act on one delivery');
delivery.command('show <id>').description('state, reason, and every provider call made for it')
  .option('--json', 'machine-readable output')
  .action(action((id: string, o: { json?: boolean }) => showCommand(id, { ...globals(), ...o })));
delivery.command('resend <ids...>').description('send again (uncertain, failed, dead or skipped): for uncertain, only once you know the citizen did not get it')
  .option('--note <text>', 'why, kept on the delivery')
  .option('--force', 'also resend one the provider had accepted (it has a provider id): it may already have reached the citizen')
  .action(action((ids: string[], o: { note?: string; force?: boolean }) => actionCommand('resend', ids, { ...globals(), ...o })));
delivery.command('cancel <ids...>').description('never send (pending or uncertain)')
  .option('--note <text>', 'why, kept on the delivery')
  .action(action((ids: string[], o: { note?: string }) => actionCommand('cancel', ids, { ...globals(), ...o })));
delivery.command('confirm <id>').description('an uncertain send did reach the provider: record its message id and track its status')
  .requiredOption('--provider-id <id>', 'the provider\'s message id')
  .option('--note <text>', 'why, kept on the delivery')
  .action(action((id: string, o: { providerId: string; note?: string }) => actionCommand('confirm', [id], { ...globals(), ...o })));

const consent = program.command('consent').description('WhatsApp consents collected outside WhatsApp')
  .addHelpText('after', '\nA number\'s current consent, with when and how it was given: ponte deliveries --citizen <phone>');
consent.command('import <file.csv>').description('record consents from a CSV (header: phone,action,date,note or telefono;azione;data;nota; action opt-in|opt-out; date dd/mm/yyyy [hh:mm] or ISO)')
  .requiredOption('--source <text>', 'where they were collected, kept as proof (e.g. "modulo cartaceo anagrafe")')
  .option('--json', 'machine-readable output')
  .action(action((file: string, o: { source: string; json?: boolean }) => consentImportCommand(file, { ...globals(), ...o })));
consent.command('set <phone> <opt-in|opt-out>').description('record one citizen\'s consent change (e.g. told at the counter)')
  .requiredOption('--source <text>', 'where it was collected')
  .option('--note <text>', 'details kept as proof')
  .option('--topic <id>', 'opt-out of one topic of the citizen service only')
  .action(action((phone: string, act: string, o: { source: string; note?: string; topic?: string }) => consentSetCommand(phone, act, { ...globals(), ...o })));

const collect = (v: string, prev: string[] = []) => [...prev, v];
const broadcast = program.command('broadcast').description('broadcasts to the WhatsApp subscribers of a topic');
broadcast.command('create').description('send a template to a topic\'s subscribers (optionally a segment); --dry-run shows audience, payload and days')
  .option('--file <file.yaml>', 'read topic, template, params, segment, key, at, urgent from a YAML file')
  .option('--topic <id>', 'topic id from the citizen service file')
  .option('--template <name>', 'approved template, declared under channels.whatsapp.templates with its category')
  .option('--param <text>', 'a body parameter, in order (repeat)', collect)
  .option('--segment <attr=v1,v2>', 'only citizens with these profile values (repeat)', collect)
  .option('--key <key>', 'stable key: creating it again never sends twice')
  .option('--at <date-time>', 'start later (ISO 8601)')
  .option('--urgent', 'an alert: not held back by quiet hours')
  .option('--channel <name>', 'whatsapp (IO is refused: its rules forbid mass messages)')
  .option('--dry-run', 'show what would happen, write nothing')
  .option('--json', 'machine-readable output')
  .action(action((o: Record<string, unknown>) => broadcastCreateCommand({ ...globals(), ...o })));
broadcast.command('list').description('recent broadcasts and their deliveries by state').option('--json', 'machine-readable output')
  .action(action((o: { json?: boolean }) => broadcastListCommand({ ...globals(), ...o })));
broadcast.command('cancel <id>').description('cancel what has not been sent yet')
  .action(action((id: string) => broadcastCancelCommand(id, globals())));

const channel = program.command('channel').description('channel operations');
channel.command('halt <name>').description('stop sending on a channel now, in every process (deliveries stay pending until resume)')
  .option('--reason <text>', 'why, shown by ponte status and in the log')
  .action(action((name: string, o: { reason?: string }) => channelHaltCommand(name, o, globals())));
channel.command('resume <name>').description('resume a channel halted by an operator or a stop-and-alert error')
  .action(action((name: string) => channelResumeCommand(name, globals())));

const connector = program.command('connector').description('write and check connectors');
connector.command('test <name>').description('run the acceptance checks every connector must pass, on a scratch database')
  .option('--db <dialect>', 'sqlite (default), postgres or mariadb (PONTE_TEST_PG_URL / PONTE_TEST_MARIADB_URL)', 'sqlite')
  .option('--json', 'machine-readable output')
  .action(action((name: string, o: { db?: string; json?: boolean }) => connectorTestCommand(name, { ...globals(), ...o })));
connector.command('new <name>').description('create connectors/<name>/ with a working connector, its fixture and its test')
  .option('--sql', 'declarative: connector.yaml + query.sql (default)')
  .option('--csv', 'declarative over a CSV export: connector.yaml with source: { kind: csv }, no query')
  .option('--http', 'declarative over a REST listing: connector.yaml with source: { kind: http }, no query')
  .option('--ts', 'TypeScript: index.ts with defineConnector()')
  .option('--shape <shape>', 'window (reminders, default) or incremental (changes)', 'window')
  .action(action((name: string, o: { sql?: boolean; csv?: boolean; http?: boolean; ts?: boolean; shape?: string }) => connectorNewCommand(name, o)));

program.command('purge').description('retention: remove personal content of events finished more than retention.days ago (the daemon does it daily)')
  .option('--dry-run', 'count what would be purged; change nothing')
  .option('--days <n>', 'retention in days (default: retention.days in the config, 90)')
  .option('--json', 'machine-readable output')
  .action(action((o: { dryRun?: boolean; days?: string; json?: boolean }) => purgeCommand({ ...globals(), ...o })));

program.command('ref <phone-or-fiscal-code...>').description('the ref (tel#…, cf#…) that names a citizen in this installation\'s logs, to grep for')
  // Variadic: a number as people write it ("347 123 4567") arrives as several words.
  .action(action((words: string[]) => refCommand(words.join(' '), globals())));

program.command('migrate').description('apply pending store migrations')
  .action(action(() => migrateCommand(globals())));

program.command('demo').description('seed a demo back-office and run the whole pipeline against the IO sandbox')
  .option('--timeout-seconds <n>', 'give up waiting for final statuses after this long', '60')
  .action(action((o: { timeoutSeconds?: string }) => demoCommand({ ...globals(), ...o })));

program.command('chat <phone>').description('chat with the citizens\' WhatsApp bot in the terminal, through the local WhatsApp sandbox')
  .action(action((phone: string) => chatCommand(phone, globals())));
program.command('sandbox').description('run the local IO sandbox (a fake of the IO services API) until stopped')
  .option('--port <n>', 'port on 127.0.0.1', '8081')
  .option('--fail-rate <r>', 'fraction of requests answered with an injected 500', '0')
  .option('--keys <file>', 'YAML map of the only subscription keys accepted (others get 401): key: { service, owner, authorizedRecipients: [fiscal codes] for a service in its test phase (others get 403) }')
  .action(action((o: { port: string; failRate: string; keys?: string }) => sandboxCommand(o)));

await program.parseAsync(process.argv);
