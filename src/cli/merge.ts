import type { CommandModule } from 'yargs';
import { UserError } from '../errors.ts';

export const mergeCommand: CommandModule = {
  command: 'merge',
  describe: '(not implemented yet)',
  handler: () => {
    throw new UserError('merge: not implemented yet');
  },
};
