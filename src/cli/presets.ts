import type { CommandModule } from 'yargs';
import { PRESETS } from '../model/presets.ts';

export const presetsCommand: CommandModule = {
  command: 'presets',
  describe: 'list the settings presets and where each comes from',
  handler: () => {
    for (const p of Object.values(PRESETS)) {
      const rows: [string, unknown][] = [['preprocess', p.preprocess], ['prompt', p.prompt], ['pooling', p.pooling], ['maxLength', p.maxLength], ['mask', p.mask]];
      if (p.dtype) rows.push(['dtype', p.dtype]);
      if (p.billmStartIndex) rows.push(['billmStartIndex', `${p.billmStartIndex.value} (for ${p.billmStartIndex.forLayers} layers)`]);
      if (p.batchSize) rows.push(['batchSize', p.batchSize]);
      const lines = rows.map(([k, v]) => {
        const src = p.sources?.[k as keyof NonNullable<typeof p.sources>];
        return `  ${`${k}:`.padEnd(17)}${v}${src ? `\n  ${''.padEnd(17)}source: ${src}` : ''}`;
      });
      process.stdout.write(`${p.name}\n  ${'source:'.padEnd(17)}${p.source}\n${lines.join('\n')}\n\n`);
    }
  },
};
