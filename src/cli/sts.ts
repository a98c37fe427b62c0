import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { CommandModule } from 'yargs';
import { UserError } from '../errors.ts';
import { formatStsTable } from '../eval/table.ts';
import { writeAtomic } from '../experiments/degrade.ts';
import { info } from '../experiments/progress.ts';
import { openEmbedder } from '../experiments/setup.ts';
import { defaultLabel, loadTasks, runSts } from '../experiments/sts.ts';
import type { StsResults } from '../experiments/results.ts';
import { TASK_ORDER } from '../tasks/registry.ts';
import { batchTokensFrom, nLayersFrom, positiveInt, settingsFrom, startIndexFrom, withModelOptions, type ModelArgs } from './model-options.ts';
import { checkDataDir, checkOutputFile, checkWritableFolder, preflightModel, taskNames } from './guards.ts';

interface StsArgs extends ModelArgs {
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
  bootstrap: number;
  seed: number;
}

/** `--preset a,b,c`: the names, each once. */
export function presetList(v: string): string[] {
  const names = v.split(',').map((x) => x.trim()).filter(Boolean);
  if (!names.length) throw new UserError('--preset: give a preset name, or several separated by commas');
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new UserError(`--preset lists "${dup}" twice`);
  return names;
}

const fileSafe = (label: string): string => label.replace(/[^\w.+-]+/g, '_');

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
    .option('group-size', { type: 'number', default: 100, describe: 'pairs per group for group-spearman' })
    .option('bootstrap', { type: 'number', default: 1000, describe: 'with several presets: paired-bootstrap resamples of each against the first' })
    .option('seed', { type: 'number', default: 1, describe: 'with several presets: bootstrap PRNG seed' }) as never,
  handler: async (a) => {
    // Everything that can be checked without the weights is checked before they load.
    checkDataDir(a['data-dir']);
    const tasks = taskNames(a.tasks);
    const presets = presetList(a.preset);
    const allSettings = presets.map((p) => settingsFrom(a, p));
    const multi = presets.length > 1;
    if (multi) {
      if (a.out?.endsWith('.json')) throw new UserError(`--out ${a.out}: with several presets --out names a folder (one results file per preset, plus the comparison)`);
      if (!(Number.isInteger(a.bootstrap) && a.bootstrap >= 1)) throw new UserError(`--bootstrap ${a.bootstrap}: give a positive number of resamples`);
      if (!Number.isInteger(a.seed)) throw new UserError(`--seed ${a.seed} is not an integer`);
    }
    let L = 0;
    for (const s of allSettings) L = preflightModel(a, s).num_hidden_layers;
    const ks = presets.map((p) => startIndexFrom(a['billm-start-index'], L, p));
    const nLayers = nLayersFrom(a['n-layers'], L);
    const pl = a['pivot-layer'];
    if (pl !== 'final' && !(/^\d+$/.test(pl) && Number(pl) <= L)) throw new UserError(`--pivot-layer ${pl}: 'final' or an integer 0..${L}`);
    const groupSize = positiveInt('group-size', a['group-size']);
    if (a.out !== undefined && !multi) checkOutputFile(a.out, '--out');
    else checkWritableFolder(a.out ?? 'reports', a.out !== undefined ? '--out' : '--out (default reports/)');
    const loaded = loadTasks(tasks, a['data-dir']);
    const { embedder, loadSeconds, batchTokens } = openEmbedder({ model: a.model, lora: a.lora, device: a.device, quiet: a.quiet, verifyWeights: a['verify-weights'] });
    const runs: StsResults[] = [];
    for (const [i, preset] of presets.entries()) {
      const k = ks[i];
      if (multi) info(a.quiet, `preset ${preset} (${i + 1} of ${presets.length})`);
      const results = runSts(embedder, {
        pivot: { layer: pl === 'final' ? 'final' : Number(pl), includeBos: a['pivot-bos'], excludePrompt: !a['pivot-prompt'] },
        tasks: loaded, dataDir: a['data-dir'], settings: allSettings[i], billmStartIndex: k, nLayers,
        cacheDir: a.cache ? a['cache-dir'] : null,
        batchTokens: batchTokensFrom(a['batch-tokens'], batchTokens), batchSize: positiveInt('batch-size', a['batch-size']),
        label: multi ? (a.label ? `${a.label}+${preset}` : defaultLabel(embedder, k, preset)) : a.label,
        sentenceStats: a['sentence-stats'], groupSize, quiet: a.quiet, loadSeconds,
      });
      const out = multi ? join(a.out ?? 'reports', `sts-${fileSafe(results.label)}.json`) : a.out ?? join('reports', `sts-${fileSafe(results.label)}.json`);
      mkdirSync(dirname(out), { recursive: true });
      writeAtomic(out, results);
      runs.push(results);
      info(a.quiet, `${results.timings.sentences} sentences in ${results.timings.embedSeconds.toFixed(1)} s (${results.timings.sentencesPerSecond.toFixed(1)}/s) on ${embedder.backend.name}; results: ${out}`);
    }
    const rows = runs.map((r) => ({ label: r.label, scores: Object.fromEntries(r.tasks.map((t) => [t.label, t.main])) }));
    process.stdout.write(`${formatStsTable(rows, 'text')}\n`);
    if (a['compare-paper']) {
      const { formatPaperComparison } = await import('../report/paper.ts');
      for (const r of runs) process.stdout.write(`\n${multi ? `${r.label}:\n` : ''}${formatPaperComparison(r.table)}\n`);
    }
    if (multi) {
      const { rankRuns, rankedTable } = await import('../report/rank.ts');
      const { tableToMarkdown } = await import('../report/markdown.ts');
      const ranked = rankRuns(runs, { resamples: a.bootstrap, seed: a.seed });
      const md = tableToMarkdown(rankedTable(ranked));
      const base = join(a.out ?? 'reports', `compare-${fileSafe(presets.join('+'))}`);
      writeAtomic(`${base}.json`, ranked);
      writeFileSync(`${base}.md`, `${md}\n`);
      process.stdout.write(`\n${md}\n`);
      info(a.quiet, `ranked comparison: ${base}.md, ${base}.json`);
    }
  },
};
