import type { CommandModule } from 'yargs';
import { UserError } from '../errors.ts';

export const degradeCommand: CommandModule = {
  command: 'degrade',
  describe: '(not implemented yet)',
  handler: () => {
    throw new UserError('degrade: not implemented yet');
  },
};
