// The `degrade` experiment: score every k of a layer sweep with a shared causal prefix, resumable.
// Embeddings of each k go to the embedding cache batch by batch (a crash loses at most one batch),
// and each finished k is a row of the results file, which a restart reads and skips.
import { existsSync, readFileSync } from 'node:fs';
import { UserError } from '../../errors.ts';
import { writeAtomic } from '../results/atomic-write.ts';
import type { Embedder, RunOptions } from '../../model/embed/embedder.ts';
import { countTruncated, planBatches } from '../../model/embed/embedder.ts';
import { truncationRule } from '../../model/tokenize/template.ts';
import type { EmbedSettings } from '../../model/presets/presets.ts';
import { allSentences, type LoadedTask } from '../../tasks/load.ts';
import type { SweepMode } from './layers.ts';
import { info, notice, progressBar } from './progress.ts';
import type { DegradeResults, DegradeRow, RunSettings } from '../results/results.ts';
import { stsTableRow } from '../../eval/table.ts';
import { scoreTask } from '../stats/score.ts';
import { defaultLabel, identityTasks, taskSplit } from './sts.ts';
import { sweepBatch, sweepCost } from './sweep.ts';
import { dataChecksums, precisionOf, provenance } from './setup.ts';
import { identityDifference, modelFilesOf, openEmbeddingStore, runIdentity, type RunIdentity } from '../results/run-identity.ts';
import { requireBidirectionality } from './self-check.ts';
import { turningPoint } from '../stats/turning-point.ts';

export interface DegradeOptions {
  /** Loaded before the model, so bad task names or missing files fail fast. */
  tasks: readonly LoadedTask[];
  dataDir: string;
  settings: EmbedSettings & { preset: string };
  mode: SweepMode;
  layers: number[];               // this shard's k values, ascending
  allLayers: number[];            // the whole sweep (for the results file)
  shard: { index: number; count: number } | null;
  out: string;                    // results file, read on restart
  /** Embedding cache folder; null (`--no-cache`): the sweep's vectors live in memory only. */
  cacheDir: string | null;
  batchTokens?: number;
  label?: string;
  quiet: boolean;
  /** Start over: ignore (and replace) an existing results file instead of resuming it (--overwrite). */
  fresh?: boolean;
}

/** Options of one independent run that gives the same embeddings as point k of the sweep. */
export function pointOptions(k: number, L: number, mode: SweepMode, s: EmbedSettings): RunOptions {
  return mode === 'truncate'
    ? { ...s, billmStartIndex: null, nLayers: k }
    : { ...s, billmStartIndex: k === L ? null : k, nLayers: null };
}

/** The sweep's identity: model files, backend, settings (weight and compute types included) + mode, tasks, task data. */
export function degradeIdentity(e: Embedder, o: DegradeOptions, checksums: Record<string, string>): RunIdentity {
  return runIdentity({ files: modelFilesOf(e), backend: e.backend.name, settings: { ...sweepSettings(e, o), mode: o.mode }, tasks: identityTasks(o.tasks), data: checksums });
}

/** What a sweep's results file records as its settings: the resolved settings and the types the backend ran. */
function sweepSettings(e: Embedder, o: DegradeOptions): RunSettings {
  return { ...degradeRunSettings(o.settings), ...precisionOf(e) };
}

/** Rows of an existing results file, only when it is the same sweep (full identity); else refuse. */
function readExisting(path: string, e: Embedder, o: DegradeOptions, identity: RunIdentity): DegradeRow[] {
  if (!existsSync(path)) return [];
  let prev: DegradeResults;
  try {
    prev = JSON.parse(readFileSync(path, 'utf8')) as DegradeResults;
  } catch {
    throw new UserError(`${path} exists but is not a readable results file: move it away or pass another --out`);
  }
  if (prev === null || typeof prev !== 'object' || prev.kind !== 'degrade' || !Array.isArray(prev.rows)) {
    throw new UserError(`${path} is not a degrade results file: pass another --out to start a new sweep`);
  }
  const diff = identityDifference(
    { identity: prev.identity, settings: prev.settings && { ...prev.settings, mode: prev.mode }, tasks: prev.rows[0]?.tasks?.map((t) => t.task) },
    { identity, settings: { ...sweepSettings(e, o), mode: o.mode }, tasks: identityTasks(o.tasks) },
  );
  if (diff) throw new UserError(`${path} holds another sweep, not resumed: ${diff}; pass another --out (or move that file away) to start a new sweep`);
  return prev.rows;
}

export function runDegrade(e: Embedder, o: DegradeOptions): DegradeResults {
  if (o.settings.mask === 'billm') throw new UserError('degrade does not support --billm-mask-compat (results would depend on batch composition)');
  const L = e.decoder.numLayers;
  const tasks = o.tasks;
  const sentences = [...new Set(tasks.flatMap((t) => allSentences(t)))];
  const checksums = dataChecksums(o.dataDir, tasks.map((t) => t.spec));
  const identity = degradeIdentity(e, o, checksums);
  const rows = (o.fresh ? [] : readExisting(o.out, e, o, identity)).filter((r) => o.layers.includes(r.k));
  const done = new Set(rows.map((r) => r.k));
  const todo = o.layers.filter((k) => !done.has(k));
  if (done.size) info(o.quiet, `resuming ${o.out}: k = ${[...done].join(',')} already done`);
  // Before any embedding: the bidirectional sweep runs every layer >= the smallest k bidirectionally.
  const firstBidirectional = o.mode === 'bidirectional' && todo.some((k) => k < L) ? Math.min(...todo) : null;
  const bidirectionalCheck = requireBidirectionality(e, { from: firstBidirectional, layers: null, quiet: o.quiet });

  const caches = new Map(todo.map((k) => [k, openEmbeddingStore(e, pointOptions(k, L, o.mode, o.settings), o.cacheDir, notice)]));
  const enc = e.encode(sentences, o.settings);
  const truncated = countTruncated(enc);
  const rule = truncationRule(o.settings.tokenize ?? 'whole', o.settings.maxLength, e.tokenizer.bosId !== null);
  if (truncated) info(o.quiet, `${truncated} of ${sentences.length} inputs were truncated (${rule})`);
  const H = e.dim;
  let passes = 0;
  let naive = 0;
  const bar = progressBar(`sweep k=${todo.join(',')}`, o.quiet);
  let embedded = 0;
  for (const b of planBatches(enc.map((x) => x.ids.length), o.batchTokens ?? 2048)) {
    const texts = b.map((i) => sentences[i]);
    const need = todo.filter((k) => texts.some((t) => !caches.get(k)!.has(t)));
    if (need.length) {
      // the template's span rides on the batch, so every k of the sweep pools over it
      const batch = e.pack(b.map((i) => enc[i].ids), o.settings, b.map((i) => enc[i].span));
      const r = sweepBatch(e.decoder, batch, need, o.mode, o.settings.pooling);
      passes += r.layerPasses;
      naive += sweepCost(need, L, o.mode).naive;
      for (const k of need) {
        const flat = r.pooled.get(k)!;
        caches.get(k)!.putBatch(texts, texts.map((_, j) => flat.slice(j * H, (j + 1) * H)));
      }
    }
    embedded += b.length;
    bar.update(embedded, sentences.length);
  }
  bar.stop();

  const base = (): DegradeResults => ({
    kind: 'degrade',
    label: o.label ?? defaultLabel(e, null, o.mode),
    mode: o.mode,
    provenance: provenance(e, o.dataDir, tasks.map((t) => t.spec), checksums),
    settings: sweepSettings(e, o),
    identity,
    layers: o.allLayers,
    rows: [...rows].sort((a, b) => a.k - b.k),
    turningPoint: { largestDrop: null, changePoint: null },
    work: { layerPasses: passes, naiveLayerPasses: naive },
    ...(o.shard ? { shard: o.shard } : {}),
    truncation: { rule, inputs: sentences.length, truncated },
    ...(taskSplit(tasks) !== 'test' ? { split: taskSplit(tasks) } : {}),
    bidirectionalCheck,
  });
  for (const k of todo) {
    const cache = caches.get(k)!;
    const results = tasks.map((t) => scoreTask(t, (s) => cache.get(s)!, false));
    rows.push({ k, tasks: results, table: stsTableRow(results) });
    writeAtomic(o.out, finish(base()));
  }
  const final = finish(base());
  writeAtomic(o.out, final);
  return final;
}

/**
 * The resolved embed settings of a sweep (spread, so settings added later are recorded and compared
 * too); k and n vary per row, so they are null here.
 */
export function degradeRunSettings(s: EmbedSettings & { preset: string }): RunSettings {
  return { ...s, billmStartIndex: null, nLayers: null };
}


/** Sorts rows and recomputes the turning point from the average column. */
export function finish(r: DegradeResults): DegradeResults {
  r.rows.sort((a, b) => a.k - b.k);
  r.turningPoint = turningPoint(r.rows.map((x) => x.k), r.rows.map((x) => x.table.Avg));
  return r;
}
