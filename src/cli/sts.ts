import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { CommandModule } from 'yargs';
import { UserError } from '../errors.ts';
import { formatStsTable } from '../eval/table.ts';
import { writeAtomic } from '../experiments/degrade.ts';
import { info } from '../experiments/progress.ts';
import type { StsResults } from '../experiments/results.ts';
import { loadTasks, runSts } from '../experiments/sts.ts';
import type { Embedder } from '../model/embedder.ts';
import { TASK_ORDER } from '../tasks/registry.ts';
import { batchTokensFrom, nLayersFrom, openModel, positiveInt, settingsFrom, startIndexFrom, withModelOptions, type ModelArgs, type OpenedModel } from './model-options.ts';

export interface StsArgs extends ModelArgs {
  tasks: string[];
  'billm-start-index'?: number;
  'n-layers'?: number;
  out?: string;
  label?: string;
  'compare-paper': boolean;
  'sentence-stats': boolean;
  'group-size': number;
  'pivot-layer': string;
  'pivot-bos': boolean;
  'pivot-prompt': boolean;
}

export const stsCommand: CommandModule<object, StsArgs> = {
  command: 'sts',
  describe: 'score a model (+ LoRA) on STS12-16, STS-B and SICK-R (Spearman x100, SentEval `all` / test split)',
  builder: (y) => withModelOptions(y, 'bellm-sts')
    .option('tasks', { type: 'string', array: true, default: [...TASK_ORDER], describe: 'tasks to run (names or labels, e.g. STS12 STS-B)' })
    .option('billm-start-index', { type: 'number', describe: 'layers with index >= k attend bidirectionally (-1 or unset: all causal)' })
    .option('n-layers', { type: 'number', describe: 'keep only the first n layers, then the final norm' })
    .option('out', { type: 'string', describe: 'results file (default reports/sts-<label>.json)' })
    .option('label', { type: 'string', describe: 'configuration name in tables and figures' })
    .option('compare-paper', { type: 'boolean', default: false, describe: "print BeLLM's published numbers and the deltas beside the table" })
    .option('sentence-stats', { type: 'boolean', default: true, describe: 'compute pivot-spearman and group-spearman on STS-B test for the box plots' })
    .option('pivot-layer', { type: 'string', default: 'final', describe: "pivot-spearman layer: 'final' (after the final norm) or 0..L (residual stream after that many layers)" })
    .option('pivot-bos', { type: 'boolean', default: true, describe: 'BOS takes part in pivot-spearman (--no-pivot-bos to leave it out)' })
    .option('pivot-prompt', { type: 'boolean', default: true, describe: "the prompt's tokens take part in pivot-spearman (--no-pivot-prompt: only the sentence's tokens)" })
    .option('group-size', { type: 'number', default: 100, describe: 'pairs per group for group-spearman' }) as never,
  handler: async (a) => {
    const { results, out, embedder } = await executeSts(a);
    const scores = Object.fromEntries(results.tasks.map((r) => [r.label, r.main]));
    process.stdout.write(`${formatStsTable([{ label: results.label, scores }], 'text')}\n`);
    if (a['compare-paper']) {
      const { formatPaperComparison } = await import('../report/paper.ts');
      process.stdout.write(`\n${formatPaperComparison(results.table)}\n`);
    }
    info(a.quiet, `${results.timings.sentences} sentences in ${results.timings.embedSeconds.toFixed(1)} s (${results.timings.sentencesPerSecond.toFixed(1)}/s) on ${embedder.backend.name}; results: ${out}`);
  },
};

/**
 * The `sts` command for parsed arguments: score, write the results file, return it. `opened` hands in a
 * model that is already open (an experiment grid opens each model once for all its cells).
 */
export async function executeSts(a: StsArgs, opened?: OpenedModel): Promise<{ results: StsResults; out: string; embedder: Embedder }> {
    const tasks = a.tasks.flatMap((t) => t.split(',')).filter(Boolean);
    const settings = settingsFrom(a);
    const loaded = loadTasks(tasks, a['data-dir']);
    const { embedder, loadSeconds, batchTokens } = opened ?? await openModel(a);
    const L = embedder.decoder.numLayers;
    const pl = a['pivot-layer'];
    if (pl !== 'final' && !(/^\d+$/.test(pl) && Number(pl) <= L)) throw new UserError(`--pivot-layer ${pl}: 'final' or an integer 0..${L}`);
    const results = runSts(embedder, {
      pivot: { layer: pl === 'final' ? 'final' : Number(pl), includeBos: a['pivot-bos'], excludePrompt: !a['pivot-prompt'] },
      tasks: loaded, dataDir: a['data-dir'], settings,
      billmStartIndex: startIndexFrom(a['billm-start-index'], L), nLayers: nLayersFrom(a['n-layers'], L),
      cacheDir: a.cache ? a['cache-dir'] : null,
      batchTokens: batchTokensFrom(a['batch-tokens'], batchTokens), batchSize: positiveInt('batch-size', a['batch-size']),
      label: a.label, sentenceStats: a['sentence-stats'], groupSize: positiveInt('group-size', a['group-size']), quiet: a.quiet, loadSeconds,
    });
    const out = a.out ?? join('reports', `sts-${results.label.replace(/[^\w.+-]+/g, '_')}.json`);
    mkdirSync(dirname(out), { recursive: true });
    writeAtomic(out, results);
    return { results, out, embedder };
}
