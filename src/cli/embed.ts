import type { CommandModule } from 'yargs';
import { UserError } from '../errors.ts';

export const embedCommand: CommandModule = {
  command: 'embed',
  describe: '(not implemented yet)',
  handler: () => {
    throw new UserError('embed: not implemented yet');
  },
};
