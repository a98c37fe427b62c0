// `bellm-bench pairs --task T [--split S]`: the scored pairs in the order `score` expects predictions,
// as TSV or JSONL, so a model outside bellm-bench can be scored (embed the pairs, one similarity a line).
import { writeFileSync } from 'node:fs';
import { extname } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { UserError } from '../../errors.ts';
import { checkExplicitOut } from '../../experiments/results/names.ts';
import { loadTask } from '../../tasks/load.ts';
import { pairsToJsonl, pairsToTsv, scoredPairs, PAIR_FORMATS, type PairFormat } from '../../tasks/pairs-export.ts';
import { getTask } from '../../tasks/registry.ts';
import { parseSplit, splitSpec } from '../../tasks/split.ts';
import { COMMANDS } from '../command-list.ts';

interface PairsArgs { 'data-dir': string; quiet: boolean; task: string; split: string; format?: PairFormat; out?: string; overwrite: boolean }

function formatOf(out: string | undefined, given: PairFormat | undefined): PairFormat {
  if (given) return given;
  if (out === undefined) return 'tsv';
  const ext = extname(out).toLowerCase();
  if (ext === '.tsv') return 'tsv';
  if (ext === '.jsonl') return 'jsonl';
  throw new UserError(`--out ${out}: name a .tsv or .jsonl file, or pass --format tsv|jsonl`);
}

export const pairsCommand: CommandModule<{ 'data-dir': string; quiet: boolean }, PairsArgs> = {
  ...COMMANDS.pairs,
  builder: (y) => y
    .option('task', { type: 'string', demandOption: true, describe: 'task name or alias (see `bellm-bench tasks`)' })
    .option('split', { type: 'string', choices: ['test', 'dev'], default: 'test', describe: 'STS-B/SICK-R split (dev: STS-B dev, SICK-R trial); STS12-16 have test only' })
    .option('format', { choices: [...PAIR_FORMATS], describe: 'tsv (header line, tab-separated) or jsonl; default from --out\'s extension, else tsv' })
    .option('out', { type: 'string', describe: 'output file (default: stdout)' })
    .option('overwrite', { type: 'boolean', default: false, describe: 'replace an existing --out file' }) as unknown as Argv<PairsArgs>,
  handler: (a) => {
    const format = formatOf(a.out, a.format);
    if (a.out !== undefined) checkExplicitOut(a.out, a.overwrite);
    const task = loadTask(splitSpec(getTask(a.task), parseSplit(a.split)), a['data-dir']);
    const pairs = scoredPairs(task);
    const text = format === 'tsv' ? pairsToTsv(pairs) : pairsToJsonl(pairs);
    if (a.out === undefined) process.stdout.write(text);
    else {
      writeFileSync(a.out, text);
      if (!a.quiet) process.stderr.write(`${pairs.length} pairs of ${task.spec.name} (${task.spec.scored.join(', ')}) -> ${a.out}\n`);
    }
  },
};
