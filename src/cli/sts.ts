import type { CommandModule } from 'yargs';
import { UserError } from '../errors.ts';

export const stsCommand: CommandModule = {
  command: 'sts',
  describe: '(not implemented yet)',
  handler: () => {
    throw new UserError('sts: not implemented yet');
  },
};
