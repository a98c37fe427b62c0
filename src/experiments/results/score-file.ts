// Predictions made by any other tool, scored exactly as bellm-bench scores its own (src/eval), and kept
// as a results file (`kind: "score"`) that `report` takes as one more configuration, bootstrap included.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { UserError } from '../../errors.ts';
import { formatFromPath, parsePredictions, type PredictionFormat } from '../../eval/predictions.ts';
import { evaluateTask, splitScored, type StsEvaluation } from '../../eval/sts.ts';
import { sha256 } from '../../tasks/checksums.ts';
import { loadTask, scoredSubsets } from '../../tasks/load.ts';
import { getTask, taskFiles, TASK_ORDER } from '../../tasks/registry.ts';
import { splitSpec, type Split } from '../../tasks/split.ts';
import { stsTableRow } from '../../eval/table.ts';
import type { TaskResult } from './results.ts';

export interface ScoreResults {
  kind: 'score';
  label: string;
  split?: Split;                                   // absent: test
  /** The predictions files, one per task, with their sha256. */
  sources: { task: string; file: string; format: PredictionFormat; sha256: string }[];
  provenance: { tool: { name: 'bellm-bench'; version: string }; createdAt: string; data: { dir: string; checksums: Record<string, string> } };
  tasks: TaskResult[];                             // in table order, with per-pair gold and prediction
  table: Record<string, number>;
}

export interface ScoredFile { evaluation: StsEvaluation; result: TaskResult; bytes: Buffer; format: PredictionFormat }

/**
 * Scores predicted similarities for one task as SentEval does: `values` holds one number per scored pair,
 * in `bellm-bench pairs` order (subsets concatenated). `source` names where they came from in errors.
 */
export function scorePredictions(taskName: string, values: readonly number[], o: { dataDir: string; split?: Split; source?: string }): { evaluation: StsEvaluation; result: TaskResult } {
  const split = o.split ?? 'test';
  const spec = splitSpec(getTask(taskName), split); // unknown names and missing splits fail before any file is read
  const task = loadTask(spec, o.dataDir);
  const subsets = scoredSubsets(task);
  const expected = subsets.reduce((a, s) => a + s.pairs.length, 0);
  if (values.length !== expected) {
    const order = subsets.map((s) => `${s.name} ${s.pairs.length}`).join(', ');
    throw new UserError(`${o.source ?? 'predictions'}: expected ${expected} scores for ${spec.name}${split !== 'test' ? ` ${split}` : ''} (one per scored pair, in order: ${order}; \`bellm-bench pairs --task ${spec.name}\` lists them), got ${values.length}`);
  }
  const evaluation = evaluateTask(task, splitScored(task, [...values]));
  let at = 0;
  const pairs = subsets.flatMap((s) => s.pairs.map((p) => ({ subset: s.name, gold: p.gold, pred: values[at++] })));
  const { task: name, label, main, all, mean, wmean, subsets: subs } = evaluation;
  const result: TaskResult = { task: name, label, main, all: { pearson: all.pearson, spearman: all.spearman }, mean, wmean, subsets: subs, pairs };
  return { evaluation, result };
}

/** Read, check and score one predictions file for one task (one value per scored pair, in `pairs` order). */
export function scoreFile(taskName: string, file: string, dataDir: string, format: PredictionFormat = formatFromPath(file), split: Split = 'test'): ScoredFile {
  splitSpec(getTask(taskName), split); // unknown names and missing splits fail before any file is read
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch {
    throw new UserError(`cannot read predictions file ${file}`);
  }
  const values = parsePredictions(bytes.toString('utf8'), format, file);
  return { ...scorePredictions(taskName, values, { dataDir, split, source: file }), bytes, format };
}

/** One configuration from predictions files (one per task); tasks are put in table order, each at most once. */
export function scoreResults(items: readonly { task: string; file: string; format?: PredictionFormat }[], o: { dataDir: string; split?: Split; label: string }): ScoreResults {
  const split = o.split ?? 'test';
  const seen = new Map<string, string>();
  const scored = items.map((it) => {
    const name = getTask(it.task).name;
    if (seen.has(name)) throw new UserError(`--task ${it.task}: ${name} is given twice (${seen.get(name)} and ${it.file}); one predictions file per task`);
    seen.set(name, it.file);
    return { it, s: scoreFile(it.task, it.file, o.dataDir, it.format, split) };
  }).sort((a, b) => TASK_ORDER.indexOf(a.s.result.task as never) - TASK_ORDER.indexOf(b.s.result.task as never));
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  const checksums: Record<string, string> = {};
  for (const f of taskFiles(scored.map(({ s }) => getTask(s.result.task)))) {
    try { checksums[f] = sha256(readFileSync(resolve(o.dataDir, f))); } catch { /* a split's file not read */ }
  }
  const tasks = scored.map(({ s }) => s.result);
  return {
    kind: 'score',
    label: o.label,
    ...(split !== 'test' ? { split } : {}),
    sources: scored.map(({ it, s }) => ({ task: s.result.task, file: resolve(it.file), format: s.format, sha256: sha256(s.bytes) })),
    provenance: { tool: { name: 'bellm-bench', version: pkg.version }, createdAt: new Date().toISOString(), data: { dir: resolve(o.dataDir), checksums } },
    tasks,
    table: stsTableRow(tasks),
  };
}
