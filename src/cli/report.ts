import type { CommandModule } from 'yargs';
import { UserError } from '../errors.ts';

export const reportCommand: CommandModule = {
  command: 'report',
  describe: '(not implemented yet)',
  handler: () => {
    throw new UserError('report: not implemented yet');
  },
};
