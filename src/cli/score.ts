// `bellm-bench score`: score a file of predicted similarities (one per scored pair, in task order).
import { readFileSync } from 'node:fs';
import type { Argv, CommandModule } from 'yargs';
import { UserError } from '../errors.ts';
import { evaluateTask, splitScored, type StsEvaluation } from '../eval/sts.ts';
import { formatFromPath, parsePredictions, type PredictionFormat } from '../eval/predictions.ts';
import { pyFixed2 } from '../eval/table.ts';
import { loadTask, scoredSubsets } from '../tasks/load.ts';
import { getTask } from '../tasks/registry.ts';

interface ScoreArgs { 'data-dir': string; quiet: boolean; task: string; predictions: string; format?: PredictionFormat; json: boolean }

/** Read, check and score a predictions file. */
export function scoreFile(taskName: string, file: string, dataDir: string, format: PredictionFormat = formatFromPath(file)): StsEvaluation {
  const spec = getTask(taskName); // unknown names fail before any file is read
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new UserError(`cannot read predictions file ${file}`);
  }
  const values = parsePredictions(text, format, file);
  const task = loadTask(spec, dataDir);
  const subsets = scoredSubsets(task);
  const expected = subsets.reduce((a, s) => a + s.pairs.length, 0);
  if (values.length !== expected) {
    const order = subsets.map((s) => `${s.name} ${s.pairs.length}`).join(', ');
    throw new UserError(`${file}: expected ${expected} scores for ${spec.name} (one per scored pair, in order: ${order}), got ${values.length}`);
  }
  return evaluateTask(task, splitScored(task, values));
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
  const main = getTask(r.task).mainScore.subset === 'all' ? 'all' : 'test';
  return [`${r.task} (${r.label}), x100:`, line(head), ...rows.map(line), `${r.label}: ${pct(r.main)} (${main} Spearman x100, the reported number)`].join('\n');
}

export const scoreCommand: CommandModule<{ 'data-dir': string; quiet: boolean }, ScoreArgs> = {
  command: 'score',
  describe: 'score predicted similarities (one per scored pair, in task order) against a task\'s gold scores',
  builder: (y) => y
    .option('task', { type: 'string', demandOption: true, describe: 'task name or alias (see `bellm-bench tasks`)' })
    .option('predictions', { type: 'string', demandOption: true, describe: 'file of similarities: STS12-16 all subsets concatenated in registry order; STS-B/SICK-R the test split' })
    .option('format', { choices: ['jsonl', 'csv'] as const, describe: 'jsonl (a number or {"score": x} per line) or csv (one column, optional header); default from the extension' })
    .option('json', { type: 'boolean', default: false, describe: 'print the full result as JSON' }) as unknown as Argv<ScoreArgs>,
  handler: (argv) => {
    const r = scoreFile(argv.task, argv.predictions, argv['data-dir'], argv.format);
    process.stdout.write(argv.json ? `${JSON.stringify(r, null, 2)}\n` : `${formatEvaluation(r)}\n`);
  },
};
