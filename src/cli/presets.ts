import type { CommandModule } from 'yargs';
import { UserError } from '../errors.ts';

export const presetsCommand: CommandModule = {
  command: 'presets',
  describe: '(not implemented yet)',
  handler: () => {
    throw new UserError('presets: not implemented yet');
  },
};
