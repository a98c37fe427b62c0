import type { CommandModule } from 'yargs';
import { UserError } from '../errors.ts';

export const dataCommand: CommandModule = {
  command: 'data',
  describe: '(not implemented yet)',
  handler: () => {
    throw new UserError('data: not implemented yet');
  },
};
