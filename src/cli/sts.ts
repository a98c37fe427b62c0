import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { CommandModule } from 'yargs';
import { UserError } from '../errors.ts';
import { formatStsTable } from '../eval/table.ts';
import { writeAtomic } from '../experiments/degrade.ts';
import { info } from '../experiments/progress.ts';
import { openEmbedder } from '../experiments/setup.ts';
import { checkExplicitOut, stsDefaultPath } from '../experiments/names.ts';
import { loadTasks, runSts } from '../experiments/sts.ts';
import { TASK_SPECS } from '../tasks/registry.ts';
import { defaultTaskNames, parseSplit } from '../tasks/split.ts';
import { batchSizeFrom, batchTokensFrom, nLayersFrom, positiveInt, settingsFrom, startIndexFrom, withModelOptions, type ModelArgs } from './model-options.ts';

interface StsArgs extends ModelArgs {
  tasks?: string[];
  split: string;
  overwrite: boolean;
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
    .option('tasks', { type: 'string', array: true, describe: 'tasks to run (names or labels, e.g. STS12 STS-B; default all 7, or STS-B SICK-R with --split dev)' })
    .option('split', { type: 'string', choices: ['test', 'dev'], default: 'test', describe: 'test (reported) or dev: STS-B dev (1,500 pairs), SICK-R trial (500); STS12-16 have no dev split' })
    .option('overwrite', { type: 'boolean', default: false, describe: 'replace an existing --out file (otherwise refused)' })
    .option('billm-start-index', { type: 'number', describe: 'layers with index >= k attend bidirectionally (-1 or unset: all causal)' })
    .option('n-layers', { type: 'number', describe: 'keep only the first n layers, then the final norm' })
    .option('out', { type: 'string', describe: 'results file (default reports/sts-<model>[+adapter][+k]-<hash of the settings>.json)' })
    .option('label', { type: 'string', describe: 'configuration name in tables and figures' })
    .option('compare-paper', { type: 'boolean', default: false, describe: "print BeLLM's published numbers and the deltas beside the table" })
    .option('sentence-stats', { type: 'boolean', default: true, describe: 'compute pivot-spearman and group-spearman on STS-B (its scored split) for the box plots' })
    .option('pivot-layer', { type: 'string', default: 'final', describe: "pivot-spearman layer: 'final' (after the final norm) or 0..L (residual stream after that many layers)" })
    .option('pivot-bos', { type: 'boolean', default: true, describe: 'BOS takes part in pivot-spearman (--no-pivot-bos to leave it out)' })
    .option('pivot-prompt', { type: 'boolean', default: true, describe: "the prompt's tokens take part in pivot-spearman (--no-pivot-prompt: only the sentence's tokens)" })
    .option('group-size', { type: 'number', default: 100, describe: 'pairs per group for group-spearman' }) as never,
  handler: async (a) => {
    const split = parseSplit(a.split);
    const tasks = a.tasks ? a.tasks.flatMap((t) => t.split(',')).filter(Boolean) : defaultTaskNames(TASK_SPECS, split);
    if (!a.tasks && split !== 'test') info(a.quiet, `--split ${split}: STS12-16 have no ${split} split; scoring ${tasks.join(', ')}`);
    if (a.out !== undefined) checkExplicitOut(a.out, a.overwrite);
    const settings = settingsFrom(a);
    const batchSize = batchSizeFrom(a['batch-size'], settings.mask, (l) => info(a.quiet, l));
    const loaded = loadTasks(tasks, a['data-dir'], split);
    const { embedder, loadSeconds, batchTokens } = openEmbedder({ model: a.model, lora: a.lora, device: a.device, quiet: a.quiet });
    const L = embedder.decoder.numLayers;
    const pl = a['pivot-layer'];
    if (pl !== 'final' && !(/^\d+$/.test(pl) && Number(pl) <= L)) throw new UserError(`--pivot-layer ${pl}: 'final' or an integer 0..${L}`);
    const results = runSts(embedder, {
      pivot: { layer: pl === 'final' ? 'final' : Number(pl), includeBos: a['pivot-bos'], excludePrompt: !a['pivot-prompt'] },
      tasks: loaded, dataDir: a['data-dir'], settings,
      billmStartIndex: startIndexFrom(a['billm-start-index'], L), nLayers: nLayersFrom(a['n-layers'], L),
      cacheDir: a.cache ? a['cache-dir'] : null,
      batchTokens: batchTokensFrom(a['batch-tokens'], batchTokens), batchSize,
      label: a.label, sentenceStats: a['sentence-stats'], groupSize: positiveInt('group-size', a['group-size']), quiet: a.quiet, loadSeconds,
    });
    const statsOptions = a['sentence-stats'] ? { pivot: { layer: pl, bos: a['pivot-bos'], prompt: a['pivot-prompt'] }, groupSize: a['group-size'] } : false;
    const out = a.out ?? stsDefaultPath(results, {
      model: a.model, adapter: a.lora, backend: embedder.backend.name, resolved: settings,
      extra: { sentenceStats: statsOptions, batchSize: settings.mask === 'billm' ? batchSize : undefined },
    });
    if (a.out === undefined && existsSync(out)) info(a.quiet, `replacing ${out}: an earlier run with the same model, adapter, tasks, split and settings`);
    mkdirSync(dirname(out), { recursive: true });
    writeAtomic(out, results);
    const scores = Object.fromEntries(results.tasks.map((r) => [r.label, r.main]));
    process.stdout.write(`${formatStsTable([{ label: results.label, scores }], 'text')}\n`);
    if (a['compare-paper']) {
      const { formatPaperComparison } = await import('../report/paper.ts');
      process.stdout.write(`\n${formatPaperComparison(results.table)}\n`);
    }
    const tm = results.timings;
    const rate = tm.sentencesPerSecond === null ? 'all from the cache' : `${tm.cached ? `${tm.cached} from the cache, ` : ''}${tm.sentences - (tm.cached ?? 0)} embedded at ${tm.sentencesPerSecond.toFixed(1)}/s`;
    info(a.quiet, `${tm.sentences} sentences in ${tm.embedSeconds.toFixed(1)} s (${rate}) on ${embedder.backend.name}; results: ${out}`);
  },
};
