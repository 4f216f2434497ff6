// `ponte` command line. Each subcommand lives in its own file under src/cli/.
import { Command } from 'commander';

const program = new Command('ponte')
  .description('Ponte: notifications from municipal back-offices to citizens (AppIO, WhatsApp)')
  .version('0.1.0');

program.command('demo').description('run the demo pipeline against the local sandbox').action(() => {
  console.log('ponte demo: walking skeleton, pipeline not wired yet');
});

await program.parseAsync(process.argv);
