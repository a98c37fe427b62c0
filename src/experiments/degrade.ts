// The `degrade` experiment: score every k of a layer sweep with a shared causal prefix, resumable.
// Embeddings of each k go to the embedding cache batch by batch (a crash loses at most one batch),
// and each finished k is a row of the results file, which a restart reads and skips.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { UserError } from '../errors.ts';
import type { Embedder, RunOptions } from '../model/embedder.ts';
import { planBatches, tokenizeAll } from '../model/embedder.ts';
import { EmbeddingCache } from '../model/embedding-cache.ts';
import type { EmbedSettings } from '../model/presets.ts';
import { allSentences, type LoadedTask } from '../tasks/load.ts';
import type { SweepMode } from './layers.ts';
import { info, progressBar } from './progress.ts';
import type { DegradeResults, DegradeRow, RunSettings } from './results.ts';
import { stsTableRow } from '../report/format.ts';
import { scoreTask } from './score.ts';
import { defaultLabel } from './sts.ts';
import { sweepBatch, sweepCost } from './sweep.ts';
import { requireBidirectionality } from './self-check.ts';
import { precisionOf, provenance } from './setup.ts';
import { turningPoint } from './turning-point.ts';

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
  cacheDir: string;
  batchTokens?: number;
  label?: string;
  quiet: boolean;
}

/** Options of one independent run that gives the same embeddings as point k of the sweep. */
export function pointOptions(k: number, L: number, mode: SweepMode, s: EmbedSettings): RunOptions {
  return mode === 'truncate'
    ? { ...s, billmStartIndex: null, nLayers: k }
    : { ...s, billmStartIndex: k === L ? null : k, nLayers: null };
}

function readExisting(path: string, o: DegradeOptions, dtype: string): DegradeRow[] {
  if (!existsSync(path)) return [];
  let prev: DegradeResults;
  try {
    prev = JSON.parse(readFileSync(path, 'utf8')) as DegradeResults;
  } catch {
    throw new UserError(`${path} exists but is not a readable results file: move it away or pass another --out`);
  }
  if (prev.kind !== 'degrade' || prev.mode !== o.mode || JSON.stringify(prev.settings.prompt) !== JSON.stringify(o.settings.prompt)) {
    throw new UserError(`${path} holds a different experiment (kind/mode/prompt differ): pass another --out to start a new sweep`);
  }
  if (prev.settings.dtype !== undefined && prev.settings.dtype !== dtype) {
    throw new UserError(`${path} was computed with --dtype ${prev.settings.dtype}, this run resolves to ${dtype}: pass the same --dtype to resume, or another --out`);
  }
  return prev.rows;
}

export function writeAtomic(path: string, data: unknown): void {
  writeFileSync(`${path}.tmp`, JSON.stringify(data, null, 1));
  renameSync(`${path}.tmp`, path);
}

export function runDegrade(e: Embedder, o: DegradeOptions): DegradeResults {
  if (o.settings.mask === 'billm') throw new UserError('degrade does not support --billm-mask-compat (results would depend on batch composition)');
  const L = e.decoder.numLayers;
  const tasks = o.tasks;
  const sentences = [...new Set(tasks.flatMap((t) => allSentences(t)))];
  const rows = readExisting(o.out, o, precisionOf(e).dtype).filter((r) => o.layers.includes(r.k));
  const done = new Set(rows.map((r) => r.k));
  const todo = o.layers.filter((k) => !done.has(k));
  if (done.size) info(o.quiet, `resuming ${o.out}: k = ${[...done].join(',')} already done`);
  // Before any embedding: the bidirectional sweep runs every layer >= the smallest k bidirectionally.
  const firstBidirectional = o.mode === 'bidirectional' && todo.some((k) => k < L) ? Math.min(...todo) : null;
  const bidirectionalCheck = requireBidirectionality(e, { from: firstBidirectional, layers: null, quiet: o.quiet });

  const caches = new Map(todo.map((k) => {
    const { key, meta } = e.cacheKey(pointOptions(k, L, o.mode, o.settings));
    return [k, new EmbeddingCache(o.cacheDir, key, e.dim, meta)];
  }));
  const ids = tokenizeAll(e.tokenizer, sentences, o.settings);
  const H = e.dim;
  let passes = 0;
  let naive = 0;
  const bar = progressBar(`sweep k=${todo.join(',')}`, o.quiet);
  let embedded = 0;
  for (const b of planBatches(ids.map((x) => x.length), o.batchTokens ?? 2048)) {
    const texts = b.map((i) => sentences[i]);
    const need = todo.filter((k) => texts.some((t) => !caches.get(k)!.has(t)));
    if (need.length) {
      const batch = e.pack(b.map((i) => ids[i]), o.settings);
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
    provenance: provenance(e, o.dataDir, tasks.map((t) => t.spec)),
    settings: settingsOf(e, o),
    layers: o.allLayers,
    rows: [...rows].sort((a, b) => a.k - b.k),
    turningPoint: { largestDrop: null, changePoint: null },
    work: { layerPasses: passes, naiveLayerPasses: naive },
    ...(o.shard ? { shard: o.shard } : {}),
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

function settingsOf(e: Embedder, o: DegradeOptions): RunSettings {
  const s = o.settings;
  return {
    preset: s.preset, preprocess: s.preprocess, prompt: s.prompt, pooling: s.pooling, maxLength: s.maxLength, mask: s.mask,
    billmStartIndex: null, nLayers: null, ...precisionOf(e), batchSize: null,
  };
}


/** Sorts rows and recomputes the turning point from the average column. */
export function finish(r: DegradeResults): DegradeResults {
  r.rows.sort((a, b) => a.k - b.k);
  r.turningPoint = turningPoint(r.rows.map((x) => x.k), r.rows.map((x) => x.table.Avg));
  return r;
}
