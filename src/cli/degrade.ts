import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { CommandModule } from 'yargs';
import { formatStsTable } from '../eval/table.ts';
import { runDegrade } from '../experiments/degrade.ts';
import { parseLayers, parseShard, shardLayers, type SweepMode } from '../experiments/layers.ts';
import { info } from '../experiments/progress.ts';
import type { DegradeResults } from '../experiments/results.ts';
import { loadTasks } from '../experiments/sts.ts';
import { TASK_ORDER } from '../tasks/registry.ts';
import { batchTokensFrom, openModel, settingsFrom, withModelOptions, type ModelArgs, type OpenedModel } from './model-options.ts';

export interface DegradeArgs extends ModelArgs {
  layers?: string;
  mode: SweepMode;
  tasks: string[];
  shard?: string;
  out?: string;
  label?: string;
}

export const degradeCommand: CommandModule<object, DegradeArgs> = {
  command: 'degrade',
  describe: 'layer sweep: score every k (leading causal layers, or layers kept), find the turning point',
  builder: (y) => withModelOptions(y, 'bellm-degrade')
    .option('layers', { type: 'string', describe: 'k values: a..b, a list 0,8,16, or both (default: 0..L, or 1..L with --mode truncate)' })
    .option('mode', { type: 'string', choices: ['bidirectional', 'truncate'], default: 'bidirectional', describe: 'bidirectional: billmStartIndex = k; truncate: keep the first k layers' })
    .option('tasks', { type: 'string', array: true, default: [...TASK_ORDER], describe: 'tasks to score at each k' })
    .option('shard', { type: 'string', describe: 'i/n: run every n-th k starting at the i-th (join with `bellm-bench merge`)' })
    .option('out', { type: 'string', describe: 'results file; an existing one is resumed (default reports/degrade-<label>.json)' })
    .option('label', { type: 'string', describe: 'configuration name in tables and figures' }) as never,
  handler: async (a) => {
    const { results: r, out } = await executeDegrade(a);
    const rows = r.rows.map((row) => ({ label: `k=${row.k}`, scores: Object.fromEntries(row.tasks.map((t) => [t.label, t.main])) }));
    process.stdout.write(`${formatStsTable(rows, 'text', a.mode === 'truncate' ? 'layers' : 'causal')}\n`);
    const tp = r.turningPoint;
    if (tp.largestDrop) process.stdout.write(`turning point (largest one-step drop of Avg): after k=${tp.largestDrop.k} (-${tp.largestDrop.drop.toFixed(2)})\n`);
    if (tp.changePoint) process.stdout.write(`change point (two-line least squares): k=${tp.changePoint.k}\n`);
    info(a.quiet, `layer passes: ${r.work.layerPasses} (independent runs: ${r.work.naiveLayerPasses}); results: ${out}`);
  },
};

/**
 * The `degrade` command for parsed arguments: sweep (resuming `--out`), write the results file, return
 * it. `opened` hands in a model that is already open (an experiment grid opens each model once).
 */
export async function executeDegrade(a: DegradeArgs, opened?: OpenedModel): Promise<{ results: DegradeResults; out: string }> {
    const tasks = a.tasks.flatMap((t) => t.split(',')).filter(Boolean);
    const settings = settingsFrom(a);
    const shard = a.shard ? parseShard(a.shard) : null;
    const loaded = loadTasks(tasks, a['data-dir']);
    const { embedder, batchTokens } = opened ?? await openModel(a);
    const L = embedder.decoder.numLayers;
    const all = parseLayers(a.layers ?? (a.mode === 'truncate' ? `1..${L}` : `0..${L}`), L, a.mode);
    const layers = shardLayers(all, shard);
    const label = a.label ?? `${embedder.model.dir.split('/').filter(Boolean).pop()}${embedder.model.lora ? '+lora' : ''}+${a.mode}`;
    const out = a.out ?? join('reports', `degrade-${label.replace(/[^\w.+-]+/g, '_')}${shard ? `.shard${shard.index}of${shard.count}` : ''}.json`);
    mkdirSync(dirname(out), { recursive: true });
    const r = runDegrade(embedder, {
      tasks: loaded, dataDir: a['data-dir'], settings, mode: a.mode, layers, allLayers: all, shard, out,
      cacheDir: a['cache-dir'], batchTokens: batchTokensFrom(a['batch-tokens'], batchTokens), label, quiet: a.quiet,
    });
    return { results: r, out };
}
