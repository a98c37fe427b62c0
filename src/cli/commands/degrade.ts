import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { CommandModule } from 'yargs';
import { UserError } from '../../errors.ts';
import { formatStsTable } from '../../eval/table.ts';
import { degradeRunSettings, runDegrade } from '../../experiments/run/degrade.ts';
import { parseLayers, parseShard, shardLayers, type SweepMode } from '../../experiments/run/layers.ts';
import { info } from '../../experiments/run/progress.ts';
import { modelSource, openedFor, resolveModel, type ModelSource, type OpenedModel, type ResolvedModel } from '../options/open-model.ts';
import { loadTasks, modelName } from '../../experiments/run/sts.ts';
import { degradeDefaultPath } from '../../experiments/results/names.ts';
import { precisionOf } from '../../experiments/run/setup.ts';
import { chosenTurningPoint, DEFAULT_TURNING_POINT, TURNING_POINT_METHODS, type TurningPointMethod } from '../../experiments/stats/turning-point.ts';
import type { DegradeResults } from '../../experiments/results/results.ts';
import type { EmbedSettings } from '../../model/presets/presets.ts';
import type { Split } from '../../tasks/split.ts';
import { batchTokensFrom, settingsFrom, withModelOptions, type ModelArgs } from '../options/model-options.ts';
import { cacheDirOf, checkDataDir, checkOutputFile, checkWritableFolder, preflightModel, splitAndTasks } from '../options/guards.ts';
import { COMMANDS } from '../command-list.ts';

export interface DegradeArgs extends ModelArgs {
  layers?: string;
  mode: SweepMode;
  tasks?: string[];
  split: string;
  overwrite: boolean;
  'turning-point': TurningPointMethod;
  shard?: string;
  out?: string;
  label?: string;
}

export const degradeCommand: CommandModule<object, DegradeArgs> = {
  ...COMMANDS.degrade,
  builder: (y) => withModelOptions(y, 'bellm-degrade')
    .option('layers', { type: 'string', describe: 'k values: a..b, a list 0,8,16, or both (default: 0..L, or 1..L with --mode truncate)' })
    .option('mode', { type: 'string', choices: ['bidirectional', 'truncate'], default: 'bidirectional', describe: 'bidirectional: billmStartIndex = k; truncate: keep the first k layers' })
    .option('tasks', { type: 'string', array: true, describe: 'tasks to score at each k (default all 7, or STS-B SICK-R with --split dev)' })
    .option('split', { type: 'string', choices: ['test', 'dev'], default: 'test', describe: 'test, or dev (STS-B dev, SICK-R trial) to choose k without touching test' })
    .option('turning-point', { type: 'string', choices: [...TURNING_POINT_METHODS], default: DEFAULT_TURNING_POINT, describe: 'which turning point to name: largest-drop (largest one-step fall of Avg) or change-point (two-line fit)' })
    .option('overwrite', { type: 'boolean', default: false, describe: 'start the sweep over, replacing an existing results file instead of resuming it' })
    .option('shard', { type: 'string', describe: 'i/n: run every n-th k starting at the i-th (join with `bellm-bench merge`)' })
    .option('out', { type: 'string', describe: 'results file; an existing one of the same sweep is resumed (default reports/degrade-<model>[+adapter]+<mode>-<hash of the settings>.json)' })
    .option('label', { type: 'string', describe: 'configuration name in tables and figures' }) as never,
  handler: async (a) => {
    const spec = await degradeSpec(a);
    const { results: r, out } = await executeDegrade(spec);
    const rows = r.rows.map((row) => ({ label: `k=${row.k}`, scores: Object.fromEntries(row.tasks.map((t) => [t.label, t.main])) }));
    process.stdout.write(`${formatStsTable(rows, 'text', spec.mode === 'truncate' ? 'layers' : 'causal')}\n`);
    const tp = r.turningPoint;
    const chosen = chosenTurningPoint(tp, spec.turningPoint);
    // a shard holds only its own k values: its turning point is not the sweep's
    const partial = spec.shard && spec.shard.count > 1
      ? ` (shard ${spec.shard.index}/${spec.shard.count}: over its own k values ${spec.layers.join(', ')} only; merge the shards for the sweep's)`
      : '';
    process.stdout.write(`turning point (${spec.turningPoint})${partial}: ${chosen ? chosen.text : 'none'}\n`);
    if (tp.largestDrop) process.stdout.write(`  largest one-step drop of Avg: after k=${tp.largestDrop.k} (-${tp.largestDrop.drop.toFixed(2)})\n`);
    if (tp.changePoint) process.stdout.write(`  change point (two-line least squares): k=${tp.changePoint.k}\n`);
    info(spec.quiet, `layer passes: ${r.work.layerPasses} (independent runs: ${r.work.naiveLayerPasses}); results: ${out}`);
  },
};

/**
 * A `degrade` sweep as the arguments ask for it, resolved and checked before the weights load: the
 * door's one conversion of the parsed arguments (`degradeSpec`). Everything after it reads this.
 */
export interface DegradeSpec {
  dataDir: string;
  quiet: boolean;
  split: Split;
  tasks: string[];
  settings: EmbedSettings & { preset: string };
  mode: SweepMode;
  shard: { index: number; count: number } | null;
  /** What to open (as given), and the folders it resolved to. */
  source: ModelSource;
  model: ResolvedModel;
  /** Every k of the whole sweep, and this shard's. */
  all: number[];
  layers: number[];
  cacheDir: string | null;
  batchTokens?: number;
  turningPoint: TurningPointMethod;
  out?: string;
  overwrite: boolean;
  label?: string;
}

/**
 * Everything that can be checked without the weights, before they load (`offline`: Hub ids from the
 * hub cache only). Writes nothing but the cache folder.
 */
export async function degradeSpec(a: DegradeArgs, o: { offline?: boolean } = {}): Promise<DegradeSpec> {
  checkDataDir(a['data-dir']);
  const { split, tasks } = splitAndTasks(a, (l) => info(a.quiet, l));
  const settings = settingsFrom(a);
  if (settings.mask === 'billm') throw new UserError('degrade does not support --billm-mask-compat (results would depend on batch composition)');
  const shard = a.shard ? parseShard(a.shard) : null;
  const source = modelSource(a);
  const model = await resolveModel(source, settings.mask, o);
  const cacheDir = cacheDirOf(a);
  const config = preflightModel(model.modelDir, { cacheDir, batchTokens: a['batch-tokens'], batchSize: a['batch-size'] }, settings);
  const L = config.num_hidden_layers;
  const all = parseLayers(a.layers ?? (a.mode === 'truncate' ? `1..${L}` : `0..${L}`), L, a.mode);
  const layers = shardLayers(all, shard);
  return {
    dataDir: a['data-dir'], quiet: a.quiet, split, tasks, settings, mode: a.mode, shard, source, model, all, layers, cacheDir,
    ...(a['batch-tokens'] !== undefined ? { batchTokens: a['batch-tokens'] } : {}), turningPoint: a['turning-point'],
    ...(a.out !== undefined ? { out: a.out } : {}), overwrite: a.overwrite, ...(a.label !== undefined ? { label: a.label } : {}),
  };
}

/**
 * The `degrade` command for its spec: the output checks, the sweep (resuming its results file), the
 * file written; printing is the caller's. `opened` hands in a model that is already open (an experiment
 * grid opens each model once).
 */
export async function executeDegrade(spec: DegradeSpec, opened?: OpenedModel): Promise<{ results: DegradeResults; out: string }> {
  const { split, tasks, settings, shard, model, all, layers } = spec;
  if (spec.out !== undefined) checkOutputFile(spec.out, '--out');
  else checkWritableFolder('reports', '--out (default reports/)');
  const loaded = loadTasks(tasks, spec.dataDir, split);
  const { embedder, batchTokens } = openedFor(model, spec.source, opened);
  const label = spec.label ?? `${modelName(embedder.model)}${embedder.model.lora ? '+lora' : ''}+${spec.mode}`;
  // The default name hashes the device kind and the weight type too, so it is known once the backend is chosen.
  const out = spec.out ?? degradeDefaultPath({
    model: model.modelRef, adapter: model.loraRef, backend: embedder.backend.name, tasks: loaded.map((t) => t.spec.name), split,
    // the settings as given and as the file records them: whatever either gains later is covered
    settings: { ...settings, ...degradeRunSettings(settings), ...precisionOf(embedder) }, mode: spec.mode, layers: all, shard,
  });
  if (spec.out === undefined) checkOutputFile(out, '--out');
  if (spec.overwrite && existsSync(out)) info(spec.quiet, `--overwrite: starting ${out} over`);
  mkdirSync(dirname(out), { recursive: true });
  const results = runDegrade(embedder, {
    tasks: loaded, dataDir: spec.dataDir, settings, mode: spec.mode, layers, allLayers: all, shard, out,
    cacheDir: spec.cacheDir, batchTokens: batchTokensFrom(spec.batchTokens, batchTokens), label, quiet: spec.quiet, fresh: spec.overwrite,
  });
  return { results, out };
}
