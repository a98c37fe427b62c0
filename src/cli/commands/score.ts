// `bellm-bench score`: score predicted similarities (one per scored pair, in `pairs` order) made by any
// tool; with --out, keep them as a results file that `report` compares with bellm-bench runs.
import { basename } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { UserError } from '../../errors.ts';
import type { StsEvaluation } from '../../eval/sts.ts';
import type { PredictionFormat } from '../../eval/predictions.ts';
import { pyFixed2 } from '../../eval/table.ts';
import { writeAtomic } from '../../experiments/results/atomic-write.ts';
import { checkExplicitOut } from '../../experiments/results/names.ts';
import { scoreFile, scoreResults } from '../../experiments/results/score-file.ts';
import { getTask } from '../../tasks/registry.ts';
import { parseSplit } from '../../tasks/split.ts';
import { COMMANDS } from '../command-list.ts';

interface ScoreArgs {
  'data-dir': string; quiet: boolean; task: string[]; predictions: string[]; format?: PredictionFormat; json: boolean;
  split: string; out?: string; label?: string; overwrite: boolean;
}

const pct = (v: number) => pyFixed2(v * 100);

export function formatEvaluation(r: StsEvaluation): string {
  const rows = [
    ...r.subsets.map((s) => [s.name, String(s.n), pct(s.pearson), pct(s.spearman)]),
    ['all', String(r.all.n), pct(r.all.pearson), pct(r.all.spearman)],
    ['mean', '', pct(r.mean.pearson), pct(r.mean.spearman)],
    ['wmean', '', pct(r.wmean.pearson), pct(r.wmean.spearman)],
  ];
  const head = ['subset', 'n', 'pearson', 'spearman'];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (c: string[]) => c.map((x, i) => (i === 0 ? x.padEnd(w[i]) : x.padStart(w[i]))).join('  ');
  const main = getTask(r.task).mainScore.subset === 'all' ? 'all' : r.subsets.some((s) => s.name === 'test') ? 'test' : 'dev';
  return [`${r.task} (${r.label}), x100:`, line(head), ...rows.map(line), `${r.label}: ${pct(r.main)} (${main} Spearman x100, the reported number)`].join('\n');
}

export const scoreCommand: CommandModule<{ 'data-dir': string; quiet: boolean }, ScoreArgs> = {
  ...COMMANDS.score,
  builder: (y) => y
    .option('task', { type: 'string', array: true, demandOption: true, describe: 'task name or alias (see `bellm-bench tasks`); repeat with one --predictions each' })
    .option('predictions', { type: 'string', array: true, demandOption: true, describe: 'file of similarities per --task: STS12-16 all subsets concatenated in registry order; STS-B/SICK-R the split' })
    .option('split', { type: 'string', choices: ['test', 'dev'], default: 'test', describe: 'STS-B/SICK-R split the predictions are for (dev: STS-B dev, SICK-R trial)' })
    .option('format', { choices: ['jsonl', 'csv'] as const, describe: 'jsonl (a number or {"score": x} per line) or csv (one column, optional header); default from the extension' })
    .option('out', { type: 'string', describe: 'write a results file (kind "score") that `bellm-bench report` takes as a configuration' })
    .option('label', { type: 'string', describe: 'configuration name of the results file (default: the first predictions file\'s name)' })
    .option('overwrite', { type: 'boolean', default: false, describe: 'replace an existing --out file (otherwise refused)' })
    .option('json', { type: 'boolean', default: false, describe: 'print the full result as JSON' }) as unknown as Argv<ScoreArgs>,
  handler: (argv) => {
    const split = parseSplit(argv.split);
    if (argv.task.length !== argv.predictions.length) {
      throw new UserError(`give one --predictions per --task (got ${argv.task.length} tasks and ${argv.predictions.length} files)`);
    }
    if (argv.out !== undefined) checkExplicitOut(argv.out, argv.overwrite);
    if (argv.out === undefined && argv.task.length === 1) {
      const r = scoreFile(argv.task[0], argv.predictions[0], argv['data-dir'], argv.format, split).evaluation;
      process.stdout.write(argv.json ? `${JSON.stringify(r, null, 2)}\n` : `${formatEvaluation(r)}\n`);
      return;
    }
    const label = argv.label ?? basename(argv.predictions[0]).replace(/\.[^.]+$/, '');
    const res = scoreResults(argv.task.map((t, i) => ({ task: t, file: argv.predictions[i], format: argv.format })), { dataDir: argv['data-dir'], split, label });
    if (argv.out !== undefined) writeAtomic(argv.out, res);
    if (argv.json) process.stdout.write(`${JSON.stringify(res, (k, v) => (k === 'pairs' ? undefined : v), 2)}\n`);
    else process.stdout.write(`${res.tasks.map((t) => `${t.label}: ${pct(t.main)}`).join('\n')}\n${argv.out !== undefined ? `results: ${argv.out}\n` : ''}`);
  },
};
