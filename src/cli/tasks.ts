import type { CommandModule } from 'yargs';
import { UserError } from '../errors.ts';

export const tasksCommand: CommandModule = {
  command: 'tasks',
  describe: '(not implemented yet)',
  handler: () => {
    throw new UserError('tasks: not implemented yet');
  },
};
