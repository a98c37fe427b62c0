import type { CommandModule } from 'yargs';
import { writeAtomic } from '../../experiments/results/atomic-write.ts';
import { mergeDegrade } from '../../experiments/results/merge.ts';
import { checkOutputFile } from '../options/guards.ts';
import { checkExplicitOut } from '../../experiments/results/names.ts';
import { COMMANDS } from '../command-list.ts';

interface MergeArgs { files: string[]; out: string; overwrite: boolean }

export const mergeCommand: CommandModule<object, MergeArgs> = {
  ...COMMANDS.merge,
  builder: (y) => y
    .positional('files', { type: 'string', array: true, demandOption: true })
    .option('out', { type: 'string', demandOption: true, describe: 'merged results file' })
    .option('overwrite', { type: 'boolean', default: false, describe: 'replace an existing --out file (otherwise refused)' }) as never,
  handler: (a) => {
    checkOutputFile(a.out, '--out');
    checkExplicitOut(a.out, a.overwrite);
    const merged = mergeDegrade(a.files);
    writeAtomic(a.out, merged);
    const missing = merged.layers.filter((k) => !merged.rows.some((r) => r.k === k));
    process.stdout.write(`merged ${a.files.length} files: ${merged.rows.length} of ${merged.layers.length} k values${missing.length ? ` (missing k=${missing.join(',')})` : ''} -> ${a.out}\n`);
  },
};
