// The `sts` experiment: embed every scored sentence of the chosen tasks once, score SentEval-style,
// and write one results file.
import { basename } from 'node:path';
import type { Embedder, RunOptions } from '../../model/embed/embedder.ts';
import type { EmbedSettings } from '../../model/presets/presets.ts';
import { allSentences, loadTask, scoredSubsets, type LoadedTask } from '../../tasks/load.ts';
import { getTask, TASK_ORDER, type TaskSpec } from '../../tasks/registry.ts';
import { splitSpec, type Split } from '../../tasks/split.ts';
import { progressBar } from './progress.ts';
import type { RunSettings, StsResults } from '../results/results.ts';
import { stsTableRow } from '../../eval/table.ts';
import { scoreTask } from '../stats/score.ts';
import { pivotSpearmanStat } from '../stats/sentence-stats.ts';
import { GROUP_SPEARMAN_DEFINITION, groupSpearman } from '../../eval/sentence-level.ts';
import { dataChecksums, precisionOf, provenance } from './setup.ts';
import { modelFilesOf, openEmbeddingCache, runIdentity } from '../results/run-identity.ts';
import { requireBidirectionality } from './self-check.ts';
import { countTruncated } from '../../model/embed/embedder.ts';
import { truncationRule } from '../../model/tokenize/template.ts';
import { info, notice } from './progress.ts';

export interface StsOptions {
  /** Loaded before the model, so bad task names or missing files fail fast. */
  tasks: readonly LoadedTask[];
  dataDir: string;
  settings: EmbedSettings & { preset: string };
  billmStartIndex: number | null;
  nLayers: number | null;
  cacheDir: string | null;
  batchTokens?: number;
  batchSize?: number;
  label?: string;
  sentenceStats: boolean;
  /** group-spearman group size (pairs per group). */
  groupSize?: number;
  /** pivot-spearman options: layer ('final' or 0..L), BOS and prompt tokens taking part. */
  pivot?: { layer: number | 'final'; includeBos: boolean; excludePrompt: boolean };
  quiet: boolean;
  loadSeconds?: number;
}

/** A model's short name: the Hub id's name, else the directory's. */
export function modelName(m: Embedder['model']): string {
  return m.hub?.model ? m.hub.model.id.split('/')[1] : basename(m.dir);
}

export function defaultLabel(e: Embedder, k: number | null, extra = ''): string {
  const parts = [modelName(e.model)];
  if (e.model.lora) parts.push(e.model.hub?.adapter ? e.model.hub.adapter.id.split('/')[1] : basename(e.model.lora.dir));
  if (k !== null) parts.push(`k${k}`);
  if (extra) parts.push(extra);
  return parts.join('+');
}

/** The named tasks in table order, scoring `split` (STS12-16 have only test: refused for dev). */
export function loadTasks(names: readonly string[], dataDir: string, split: Split = 'test'): LoadedTask[] {
  return taskSpecs(names, split).map((s) => loadTask(s, dataDir));
}

/** The specs loadTasks loads (table order, `split` applied), without reading any file. */
export function taskSpecs(names: readonly string[], split: Split = 'test'): TaskSpec[] {
  const specs = [...new Set(names.map((n) => getTask(n)))];
  specs.sort((a, b) => TASK_ORDER.indexOf(a.name) - TASK_ORDER.indexOf(b.name));
  return specs.map((s) => splitSpec(s, split)); // refuses before any file is read
}

/**
 * SentEval's batching, for BiLLM mask compat: per subset, pairs sorted by (words of s1, words of s2,
 * gold) as SentEval's STS loadFile does, then s1 and s2 embedded in batches of batchSize in that order.
 */
function embedCompat(e: Embedder, tasks: readonly LoadedTask[], run: RunOptions): (task: LoadedTask) => (s: string) => Float32Array {
  const per = new Map<LoadedTask, Map<string, Float32Array>>();
  for (const t of tasks) {
    const m = new Map<string, Float32Array>();
    for (const sub of scoredSubsets(t)) {
      const sorted = [...sub.pairs].sort((a, b) =>
        a.s1.split(' ').length - b.s1.split(' ').length || a.s2.split(' ').length - b.s2.split(' ').length || a.gold - b.gold);
      const size = run.batchSize ?? 16;
      for (let i = 0; i < sorted.length; i += size) {
        const chunk = sorted.slice(i, i + size);
        for (const side of ['s1', 's2'] as const) {
          const texts = chunk.map((p) => p[side]);
          e.embed(texts, { ...run, batchSize: size }).forEach((v, j) => m.set(texts[j], v));
        }
      }
    }
    per.set(t, m);
  }
  return (t) => (s) => per.get(t)!.get(s)!;
}

/** The recorded settings: every resolved embed setting (spread, so new ones are kept) and the layer options. */
export function stsSettings(o: Pick<StsOptions, 'settings' | 'billmStartIndex' | 'nLayers' | 'batchSize'>): RunSettings {
  return {
    ...o.settings, billmStartIndex: o.billmStartIndex, nLayers: o.nLayers,
    ...(o.settings.mask === 'billm' ? { batchSize: o.batchSize ?? 16 } : {}),
  };
}

export function runSts(e: Embedder, o: StsOptions): StsResults {
  const tasks = o.tasks;
  const run: RunOptions = {
    ...o.settings, billmStartIndex: o.billmStartIndex, nLayers: o.nLayers,
    batchTokens: o.batchTokens, batchSize: o.batchSize,
  };
  run.cache = openEmbeddingCache(e, run, o.cacheDir, notice);
  // Before any embedding: layers meant to run bidirectionally must see later tokens.
  const bidirectionalCheck = requireBidirectionality(e, { from: o.billmStartIndex, layers: o.nLayers, quiet: o.quiet });
  const sentences = [...new Set(tasks.flatMap((t) => allSentences(t)))];
  // Tokenized up front (the embedder reuses it): bad templates fail before the long work, and
  // truncation is counted over every input, cached or not.
  const truncated = countTruncated(e.encode(sentences, o.settings));
  const rule = truncationRule(o.settings.tokenize ?? 'whole', o.settings.maxLength, e.tokenizer.bosId !== null);
  if (truncated) info(o.quiet, `${truncated} of ${sentences.length} inputs were truncated (${rule})`);
  const bar = progressBar('embedding', o.quiet);
  run.onProgress = (d, n) => bar.update(d, n);
  let cached = 0;
  run.onCached = (c) => { cached += c; };
  const t0 = performance.now();
  let lookup: (task: LoadedTask) => (s: string) => Float32Array;
  if (o.settings.mask === 'billm') {
    lookup = embedCompat(e, tasks, run);
  } else {
    const vecs = e.embed(sentences, run);
    const bySentence = new Map(sentences.map((s, i) => [s, vecs[i]]));
    lookup = () => (s) => bySentence.get(s)!;
  }
  bar.stop();
  const embedSeconds = (performance.now() - t0) / 1000;
  const results = tasks.map((t) => scoreTask(t, lookup(t)));
  const split = taskSplit(tasks);
  // Every resolved setting, plus the weight and compute types the backend ran (part of the identity).
  const settings: RunSettings = { ...stsSettings(o), ...precisionOf(e) };
  const checksums = dataChecksums(o.dataDir, tasks.map((t) => t.spec));
  const out: StsResults = {
    kind: 'sts',
    label: o.label ?? defaultLabel(e, o.billmStartIndex),
    provenance: provenance(e, o.dataDir, tasks.map((t) => t.spec), checksums),
    settings,
    identity: runIdentity({ files: modelFilesOf(e), backend: e.backend.name, settings, tasks: identityTasks(tasks), data: checksums }),
    tasks: results,
    table: stsTableRow(results),
    timings: throughput(o.loadSeconds ?? 0, embedSeconds, sentences.length, cached),
    truncation: { rule, inputs: sentences.length, truncated },
    ...(split !== 'test' ? { split } : {}),
    bidirectionalCheck,
  };
  const stsb = tasks.find((t) => t.spec.name === 'STSBenchmark');
  if (o.sentenceStats && stsb) {
    const r = results.find((x) => x.task === 'STSBenchmark')!;
    const g = groupSpearman(r.pairs!.map((p) => p.gold), r.pairs!.map((p) => p.pred), { groupSize: o.groupSize ?? 100 });
    out.sentenceStats = [
      pivotSpearmanStat(e, allSentences(stsb), 'STSBenchmark', o.settings, {
        billmStartIndex: o.billmStartIndex, nLayers: o.nLayers, layer: 'final', includeBos: true, ...o.pivot, batchTokens: o.batchTokens,
      }),
      {
        statistic: 'group-spearman', definition: GROUP_SPEARMAN_DEFINITION, task: 'STSBenchmark', values: g.values,
        options: { groupSize: g.groupSize, seed: g.seed, dropped: g.dropped },
      },
    ];
    if (split !== 'test') for (const st of out.sentenceStats) st.split = split;
  }
  return out;
}

/**
 * Timings of a run: throughput counts only the sentences embedded in this run (cached ones cost a
 * lookup), so a rerun from the cache records null instead of a meaningless rate.
 */
export function throughput(loadSeconds: number, embedSeconds: number, sentences: number, cached: number): StsResults['timings'] {
  const embedded = sentences - cached;
  return { loadSeconds, embedSeconds, sentences, cached, sentencesPerSecond: embedded > 0 && embedSeconds > 0 ? embedded / embedSeconds : null };
}

/** The split the loaded tasks score ('dev' when any scores dev; loadTasks gives one split to all). */
export function taskSplit(tasks: readonly { spec: TaskSpec }[]): Split {
  return tasks.some((t) => t.spec.scored.includes('dev')) ? 'dev' : 'test';
}

/** The task list of a run's identity: registry names, with the split when it is not test ('STSBenchmark:dev'). */
export function identityTasks(tasks: readonly { spec: TaskSpec }[]): string[] {
  const split = taskSplit(tasks);
  return tasks.map((t) => (split === 'test' ? t.spec.name : `${t.spec.name}:${split}`));
}
