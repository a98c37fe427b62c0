import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { CommandModule } from 'yargs';
import { UserError } from '../../errors.ts';
import { formatStsTable } from '../../eval/table.ts';
import { writeAtomic, writeFileAtomic } from '../../experiments/results/atomic-write.ts';
import { info } from '../../experiments/run/progress.ts';
import { shortHash } from '../../experiments/results/identity.ts';
import { checkExplicitOut, stsDefaultPath } from '../../experiments/results/names.ts';
import { defaultLabel, loadTasks, runSts } from '../../experiments/run/sts.ts';
import type { StsResults } from '../../experiments/results/results.ts';
import type { Embedder } from '../../model/embed/embedder.ts';
import type { EmbedSettings } from '../../model/presets/presets.ts';
import type { Split } from '../../tasks/split.ts';
import { batchSizeFrom, batchTokensFrom, nLayersFrom, positiveInt, settingsFrom, startIndexFrom, withModelOptions, type ModelArgs } from '../options/model-options.ts';
import { cacheDirOf, checkDataDir, checkOutputFile, checkWritableFolder, preflightModel, splitAndTasks } from '../options/guards.ts';
import { modelSource, openedFor, resolveModel, type ModelSource, type OpenedModel, type ResolvedModel } from '../options/open-model.ts';
import { COMMANDS } from '../command-list.ts';
import { resamplesProblem } from '../../eval/resampling.ts';

export interface StsArgs extends ModelArgs {
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
  ...COMMANDS.sts,
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
    .option('group-size', { type: 'number', default: 100, describe: 'pairs per group for group-spearman' })
    .option('bootstrap', { type: 'number', default: 1000, describe: 'with several presets: paired-bootstrap resamples of each against the first' })
    .option('seed', { type: 'number', default: 1, describe: 'with several presets: bootstrap PRNG seed' }) as never,
  handler: async (a) => {
    const spec = await stsSpec(a);
    const { runs, comparison, failed } = await executeSts(spec);
    const multi = runs.length > 1;
    const rows = runs.map((r) => ({ label: r.label, scores: Object.fromEntries(r.tasks.map((t) => [t.label, t.main])) }));
    process.stdout.write(`${formatStsTable(rows, 'text')}\n`);
    if (spec.comparePaper) {
      const { formatPaperComparison, paperConfigNotes } = await import('../../report/paper.ts');
      for (const r of runs) {
        process.stdout.write(`\n${multi ? `${r.label}:\n` : ''}${formatPaperComparison(r.table)}\n`);
        for (const note of paperConfigNotes(r)) process.stdout.write(`${note}\n`);
      }
    }
    if (comparison) {
      process.stdout.write(`\n${comparison.markdown}\n`);
      info(spec.quiet, `ranked comparison: ${comparison.base}.md, ${comparison.base}.json`);
    }
    if (failed?.length) {
      process.stderr.write(`bellm-bench: ${failed.length} of ${spec.presets.length} presets failed (the others ran and are compared above): ${failed.map((f) => `${f.preset}: ${f.error}`).join('; ')}\n`);
      process.exitCode = 1;
    }
  },
};

/**
 * An `sts` run as the arguments ask for it, resolved and checked before the weights load: the door's
 * one conversion of the parsed arguments (`stsSpec`). Everything after it reads this, never the arguments.
 */
export interface StsSpec {
  dataDir: string;
  quiet: boolean;
  split: Split;
  tasks: string[];
  presets: string[];
  allSettings: (EmbedSettings & { preset: string })[];
  multi: boolean;
  /** What to open (as given), and the folders it resolved to (Hub ids from the cache or downloaded). */
  source: ModelSource;
  model: ResolvedModel;
  /** The model's depth (config.json). */
  L: number;
  /** billmStartIndex of each preset. */
  ks: (number | null)[];
  nLayers: number | null;
  /** Sentences per batch of each preset (BiLLM compat), and --batch-tokens as given. */
  batchSizes: number[];
  batchTokens?: number;
  cacheDir: string | null;
  /** Sentence-level statistics on STS-B (pivot- and group-spearman), or none. */
  stats: {
    pivot: { layer: 'final' | number; includeBos: boolean; excludePrompt: boolean };
    /** The options as given (--pivot-layer, --pivot-bos, --pivot-prompt): default results names hash them. */
    given: { layer: string; bos: boolean; prompt: boolean };
  } | null;
  groupSize: number;
  /** --out (a results file, or with several presets a folder), --overwrite, --label. */
  out?: string;
  overwrite: boolean;
  label?: string;
  /** With several presets: the ranked comparison's bootstrap. */
  bootstrap: number;
  seed: number;
  comparePaper: boolean;
}

/**
 * Everything that can be checked without the weights, before they load: the data folder, tasks and
 * split, presets and their settings, the model (Hub ids resolved; `offline`: from the hub cache only),
 * config.json against the layer and batch options. Writes nothing but the cache folder.
 */
export async function stsSpec(a: StsArgs, o: { offline?: boolean } = {}): Promise<StsSpec> {
  checkDataDir(a['data-dir']);
  const { split, tasks } = splitAndTasks(a, (l) => info(a.quiet, l));
  const presets = presetList(a.preset);
  const allSettings = presets.map((p) => settingsFrom(a, p));
  const multi = presets.length > 1;
  if (multi) {
    if (a.out?.endsWith('.json')) throw new UserError(`--out ${a.out}: with several presets --out names a folder (one results file per preset, plus the comparison)`);
    const why = resamplesProblem(a.bootstrap, false);
    if (why) throw new UserError(`--bootstrap ${a.bootstrap}: ${why}`);
    if (!Number.isInteger(a.seed)) throw new UserError(`--seed ${a.seed} is not an integer`);
  }
  const source = modelSource(a);
  const model = await resolveModel(source, allSettings.some((s) => s.mask === 'billm') ? 'billm' : 'correct', o);
  const cacheDir = cacheDirOf(a);
  let L = 0, native = false;
  for (const s of allSettings) {
    const c = preflightModel(model.modelDir, { cacheDir, batchTokens: a['batch-tokens'], batchSize: a['batch-size'] }, s);
    L = c.num_hidden_layers;
    native = c.arch.bidirectional;
  }
  const ks = presets.map((p) => startIndexFrom(a['billm-start-index'], L, p, native));
  const nLayers = nLayersFrom(a['n-layers'], L);
  const pl = a['pivot-layer'];
  if (pl !== 'final' && !(/^\d+$/.test(pl) && Number(pl) <= L)) throw new UserError(`--pivot-layer ${pl}: 'final' or an integer 0..${L}`);
  const groupSize = positiveInt('group-size', a['group-size']);
  const batchSizes = allSettings.map((s, i) => batchSizeFrom(a['batch-size'], s.mask, (l) => info(a.quiet, l), presets[i]));
  const stats = a['sentence-stats']
    ? { pivot: { layer: pl === 'final' ? 'final' as const : Number(pl), includeBos: a['pivot-bos'], excludePrompt: !a['pivot-prompt'] }, given: { layer: pl, bos: a['pivot-bos'], prompt: a['pivot-prompt'] } }
    : null;
  return {
    dataDir: a['data-dir'], quiet: a.quiet, split, tasks, presets, allSettings, multi, source, model, L, ks, nLayers, batchSizes,
    ...(a['batch-tokens'] !== undefined ? { batchTokens: a['batch-tokens'] } : {}), cacheDir, stats, groupSize,
    ...(a.out !== undefined ? { out: a.out } : {}), overwrite: a.overwrite, ...(a.label !== undefined ? { label: a.label } : {}),
    bootstrap: a.bootstrap, seed: a.seed, comparePaper: a['compare-paper'],
  };
}

/** The results of one `sts` call: one per preset, their files, and with several presets the ranked comparison. */
export interface StsRun {
  runs: StsResults[];
  outs: string[];
  embedder: Embedder;
  comparison?: { markdown: string; base: string };
  /** With several presets: those that failed (one line each); the others ran and were compared. */
  failed?: { preset: string; error: string }[];
}

/**
 * The `sts` command for its spec: the output checks, the runs, the results files (and with several
 * presets the ranked comparison files); printing is the caller's. `opened` hands in a model that is
 * already open (an experiment grid opens each model once for all the cells that share it).
 */
export async function executeSts(spec: StsSpec, opened?: OpenedModel): Promise<StsRun> {
  const { split, tasks, presets, allSettings, multi, model, ks, nLayers, groupSize, batchSizes } = spec;
  // With one preset --out is the results file; with several it is the folder of their files.
  const outDir = multi ? spec.out ?? 'reports' : 'reports';
  if (spec.out !== undefined && !multi) {
    checkOutputFile(spec.out, '--out');
    checkExplicitOut(spec.out, spec.overwrite);
  } else {
    checkWritableFolder(outDir, spec.out !== undefined ? '--out' : '--out (default reports/)');
  }
  const loaded = loadTasks(tasks, spec.dataDir, split);
  const { embedder, loadSeconds, batchTokens } = openedFor(model, spec.source, opened);
  const statsOptions = spec.stats ? { pivot: spec.stats.given, groupSize } : false;
  const runs: StsResults[] = [];
  const outs: string[] = [];
  const failed: { preset: string; error: string }[] = [];
  for (const [i, preset] of presets.entries()) {
    const k = ks[i];
    const settings = allSettings[i];
    if (multi) info(spec.quiet, `preset ${preset} (${i + 1} of ${presets.length})`);
    let results: StsResults;
    try {
      results = runSts(embedder, {
        pivot: spec.stats?.pivot ?? { layer: 'final', includeBos: true, excludePrompt: false },
        tasks: loaded, dataDir: spec.dataDir, settings, billmStartIndex: k, nLayers,
        cacheDir: spec.cacheDir,
        batchTokens: batchTokensFrom(spec.batchTokens, batchTokens), batchSize: batchSizes[i],
        label: multi ? (spec.label ? `${spec.label}+${preset}` : defaultLabel(embedder, k, preset)) : spec.label,
        sentenceStats: spec.stats !== null, groupSize, quiet: spec.quiet, loadSeconds,
      });
    } catch (e) {
      // with several presets one failure does not end the others: they still run and are compared
      if (!multi || !(e instanceof UserError)) throw e;
      failed.push({ preset, error: e.message });
      info(spec.quiet, `preset ${preset} failed: ${e.message}`);
      continue;
    }
    const out = !multi && spec.out !== undefined ? spec.out : stsDefaultPath(results, {
      model: model.modelRef, adapter: model.loraRef, backend: embedder.backend.name, resolved: settings, dir: outDir, tag: multi ? preset : undefined,
      extra: { sentenceStats: statsOptions, batchSize: settings.mask === 'billm' ? batchSizes[i] : undefined },
    });
    if ((multi || spec.out === undefined) && existsSync(out)) info(spec.quiet, `replacing ${out}: an earlier run with the same model, adapter, tasks, split and settings`);
    mkdirSync(dirname(out), { recursive: true });
    writeAtomic(out, results);
    runs.push(results);
    outs.push(out);
    const tm = results.timings;
    const rate = tm.sentencesPerSecond === null ? 'all from the cache' : `${tm.cached ? `${tm.cached} from the cache, ` : ''}${tm.sentences - (tm.cached ?? 0)} embedded at ${tm.sentencesPerSecond.toFixed(1)}/s`;
    info(spec.quiet, `${tm.sentences} sentences in ${tm.embedSeconds.toFixed(1)} s (${rate}) on ${embedder.backend.name}; results: ${out}`);
  }
  if (!multi) return { runs, outs, embedder };
  if (runs.length === 0) throw new UserError(`every preset failed: ${failed.map((f) => `${f.preset}: ${f.error}`).join('; ')}`);
  const { rankRuns, rankedTable } = await import('../../report/rank.ts');
  const { tableToMarkdown } = await import('../../report/markdown.ts');
  const ranked = rankRuns(runs, { resamples: spec.bootstrap, seed: spec.seed });
  const markdown = tableToMarkdown(rankedTable(ranked));
  // one name per set of runs (their identities): comparing other models or settings never replaces it
  const base = join(outDir, `compare-${fileSafe(presets.join('+'))}-${shortHash(runs.map((r) => r.identity?.hash ?? r.label))}`);
  writeAtomic(`${base}.json`, ranked);
  writeFileAtomic(`${base}.md`, `${markdown}\n`);
  return { runs, outs, embedder, comparison: { markdown, base }, ...(failed.length ? { failed } : {}) };
}
