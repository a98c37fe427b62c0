import type { CommandModule } from 'yargs';
import { PRESETS } from '../model/presets.ts';

export const presetsCommand: CommandModule = {
  command: 'presets',
  describe: 'list the settings presets and where each comes from',
  handler: () => {
    for (const p of Object.values(PRESETS)) {
      process.stdout.write(`${p.name}\n  source:     ${p.source}\n  preprocess: ${p.preprocess}\n  prompt:     ${p.prompt}\n  pooling:    ${p.pooling}\n  maxLength:  ${p.maxLength}\n  mask:       ${p.mask}\n\n`);
    }
  },
};
