// bellm-bench command line: parses arguments and dispatches to one module per command (src/cli/*.ts).
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { commands } from './cli/commands.ts';
import { withGlobalOptions } from './cli/options/global-options.ts';
import { UserError } from './errors.ts';
import { joinDashValues, optionGuards } from './cli/options/guards.ts';

const args = joinDashValues(hideBin(process.argv));
const cli = withGlobalOptions(yargs(args).scriptName('bellm-bench'))
  .strict()
  .middleware(optionGuards(args))
  .demandCommand(1, 'name a command: see --help')
  .recommendCommands()
  .help()
  .fail((msg, err) => {
    if (err instanceof UserError) {
      process.stderr.write(`bellm-bench: ${err.message}\n`);
      process.exit(2);
    }
    if (err) throw err;
    process.stderr.write(`bellm-bench: ${msg}\n(run with --help for usage)\n`);
    process.exit(2);
  });
for (const c of commands) cli.command(c);
try {
  await cli.parseAsync();
} catch (err) {
  if (err instanceof UserError) {
    process.stderr.write(`bellm-bench: ${err.message}\n`);
    process.exit(2);
  }
  throw err;
}
