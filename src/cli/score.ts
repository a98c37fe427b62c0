import type { CommandModule } from 'yargs';
import { UserError } from '../errors.ts';

export const scoreCommand: CommandModule = {
  command: 'score',
  describe: '(not implemented yet)',
  handler: () => {
    throw new UserError('score: not implemented yet');
  },
};
