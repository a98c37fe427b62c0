// The full identity of a run, and of a cached embedding: what must match before anything is reused.
//
// `runIdentity` is the one function that says whether two results (a resumed degrade file, shards to
// merge, grid cells) come from the same computation: the content hashes of the weights, adapter and
// tokenizer files (src/model/formats/model-files.ts), the backend, every key of the resolved settings object,
// the task list and the task files' checksums. Settings are hashed whole, so a setting added later is
// covered without touching this file. `embeddingKey` is the same idea for one sentence's vector.
import type { Embedder, RunOptions } from '../../model/embed/embedder.ts';
import { EmbeddingCache, MemoryStore, type EmbeddingStore } from '../../model/embed/embedding-cache.ts';
import type { ModelFiles } from '../../model/formats/model-files.ts';
import { canonicalJson, identityHash } from './identity.ts';

export const IDENTITY_VERSION = 1;

/** What a run's numbers depend on. */
export interface RunIdentityInput {
  files: ModelFiles;
  /** Backend name (e.g. 'cpu (openblas)', 'cuda-bf16'): float results differ across backends. */
  backend: string;
  /** The whole resolved settings object, as recorded in the results; every key counts. */
  settings: object;
  /** Task names in table order. */
  tasks: readonly string[];
  /** sha256 of each task file, by path relative to the data folder. */
  data: Record<string, string>;
}

export const IDENTITY_PARTS = ['weights', 'adapter', 'tokenizer', 'backend', 'settings', 'tasks', 'data'] as const;
export type IdentityPart = (typeof IDENTITY_PARTS)[number];

/** Recorded in results files: `hash` decides, `parts` (one hash each) name what differs. */
export interface RunIdentity {
  version: number;
  hash: string;
  parts: Record<IdentityPart, string>;
}

export function runIdentity(i: RunIdentityInput): RunIdentity {
  const parts: Record<IdentityPart, string> = {
    weights: identityHash(i.files.weights),
    adapter: identityHash(i.files.adapter),
    tokenizer: identityHash(i.files.tokenizer),
    backend: identityHash(i.backend),
    settings: identityHash(i.settings),
    tasks: identityHash(i.tasks),
    data: identityHash(i.data),
  };
  return { version: IDENTITY_VERSION, hash: identityHash({ version: IDENTITY_VERSION, parts }), parts };
}

/** The model side of a run's identity, from an opened embedder. */
export function modelFilesOf(e: Embedder): ModelFiles {
  return { weights: e.model.files, adapter: e.model.lora?.files ?? null, tokenizer: e.tokenizer.files };
}

/** What one side of a comparison recorded, for naming the difference in words. */
export interface IdentityContext {
  identity: RunIdentity | undefined;
  settings?: object;
  tasks?: readonly string[];
}

const WORDS: Record<IdentityPart, string> = {
  weights: 'model weights or config.json', adapter: 'LoRA adapter', tokenizer: 'tokenizer files', backend: 'backend',
  settings: 'settings', tasks: 'task list', data: 'task data files',
};

const show = (v: unknown) => (v === undefined ? 'unset' : JSON.stringify(v).slice(0, 60));

/**
 * Null when `a` and `b` are the same run; else a short phrase naming the first difference, e.g.
 * `the settings differ (pooling: "last" vs "avg")` or `the model weights or config.json differ`.
 */
export function identityDifference(a: IdentityContext, b: IdentityContext): string | null {
  if (!a.identity || !b.identity) return 'it has no recorded run identity (written by an older bellm-bench)';
  if (a.identity.version !== b.identity.version) return `its run identity has version ${a.identity.version}, not ${b.identity.version}`;
  if (a.identity.hash === b.identity.hash) return null;
  const part = IDENTITY_PARTS.find((p) => a.identity!.parts[p] !== b.identity!.parts[p]);
  if (!part) return 'the run identity differs';
  let detail = '';
  if (part === 'settings' && a.settings && b.settings) {
    const x = a.settings as Record<string, unknown>, y = b.settings as Record<string, unknown>;
    const key = [...new Set([...Object.keys(x), ...Object.keys(y)])].sort().find((k) => canonicalJson(x[k]) !== canonicalJson(y[k]));
    if (key) detail = ` (${key}: ${show(x[key])} vs ${show(y[key])})`;
  }
  if (part === 'tasks' && a.tasks && b.tasks) detail = ` (${a.tasks.join(',')} vs ${b.tasks.join(',')})`;
  return `the ${WORDS[part]} differ${detail}`;
}

// ---- embeddings ----

export const EMBEDDING_KEY_VERSION = 2;

/**
 * The settings that change one sentence's vector: every key of the run options except how the work is
 * batched, cached or reported (`batchTokens`, `batchSize`, `cacheDir`, `cache`, `onProgress`) and the
 * preset's name (its resolved values are keys of their own). Options added later count automatically.
 */
export function embeddingSettings(o: RunOptions): Record<string, unknown> {
  const { batchTokens: _bt, batchSize: _bs, cache: _c, onProgress: _p, ...rest } = o;
  const out: Record<string, unknown> = { ...rest, nLayers: o.nLayers ?? null };
  delete out.preset;
  delete out.cacheDir;
  return out;
}

/** Cache key of one embedding configuration: model files, backend, the weights' type in memory, embedding settings. */
export function embeddingKey(e: Embedder, o: RunOptions): { key: string; meta: Record<string, unknown> } {
  // The backend's name carries the CUDA precision; on the CPU the weights may be held as bf16/fp16.
  const meta = {
    version: EMBEDDING_KEY_VERSION, files: modelFilesOf(e), backend: e.backend.name, weightDtype: e.model.weightDtype ?? 'fp32',
    embedding: embeddingSettings(o),
  };
  return { key: identityHash(meta), meta };
}

/**
 * The disk cache of one configuration under `cacheDir`; null without a cache dir, or under BiLLM
 * mask-compat (its vectors depend on the batch, so they are never reused).
 */
export function openEmbeddingCache(e: Embedder, o: RunOptions, cacheDir: string | null | undefined, log?: (msg: string) => void): EmbeddingCache | null {
  if (!cacheDir || o.mask === 'billm') return null;
  const { key, meta } = embeddingKey(e, o);
  return new EmbeddingCache(cacheDir, key, e.dim, meta, log ? { log } : {});
}

/** The disk cache, or (no cache dir) a store in memory for this run only: `degrade --no-cache`. */
export function openEmbeddingStore(e: Embedder, o: RunOptions, cacheDir: string | null | undefined, log?: (msg: string) => void): EmbeddingStore {
  return openEmbeddingCache(e, o, cacheDir, log) ?? new MemoryStore(e.dim);
}
