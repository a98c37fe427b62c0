// The results files written by `sts` and `degrade` and read by `report` (which never recomputes).
import type { CorrelationPair, SubsetScore } from '../../eval/sts.ts';
import type { RunIdentity } from './run-identity.ts';
import type { Split } from '../../tasks/split.ts';
import type { HubRef } from '../../model/arch/types.ts';
import type { BidirectionalCheck } from '../../model/arch/bidirectional-check.ts';

export type { BidirectionalCheck };

export type { CorrelationPair, SubsetScore };

export interface TaskResult {
  task: string;                   // registry name, e.g. 'STSBenchmark'
  label: string;                  // table column, e.g. 'STS-B'
  /** The reported number (Spearman, not x100): `all` for STS12-16, the test split for STS-B/SICK-R. */
  main: number;
  all: CorrelationPair;
  mean: CorrelationPair;
  wmean: CorrelationPair;
  subsets: SubsetScore[];
  /** Scored pairs in task order (subsets concatenated): gold score and predicted cosine. */
  pairs?: { subset: string; gold: number; pred: number }[];
}

/** The resolved settings (every key of the embed settings, spread, plus the layer options). */
export interface RunSettings {
  preset: string;
  preprocess: string;
  prompt: string;
  pooling: string;
  maxLength: number;
  mask: string;                   // 'correct' | 'billm'
  billmStartIndex: number | null;
  nLayers: number | null;
  tokenize?: string;              // 'pieces'; absent = 'whole' (src/model/tokenize/template.ts)
  instruction?: string;           // what {instruction} stood for; absent when the template has none
  /** --dtype resolved: weights as held on the CPU (16-bit widened per matmul) or stored on the GPU. */
  dtype?: 'fp32' | 'bf16' | 'fp16';
  /** The activations' type: fp32 on the CPU, the GPU's storage type there (fp32 accumulation everywhere). */
  computeDtype?: 'fp32' | 'bf16' | 'fp16';
  /** Sentences per batch: recorded only under BiLLM mask-compat, where it changes the numbers. */
  batchSize?: number;
}

/** How many embedded inputs lost tokens to maxLength, and by which rule. */
export interface TruncationCount {
  rule: string;
  inputs: number;                 // unique inputs embedded
  truncated: number;
}

export interface Provenance {
  tool: { name: 'bellm-bench'; version: string };
  software: Record<string, string>; // node, platform, backend
  createdAt: string;
  /** `files`: sha256 of config.json and every tensor file; `fingerprint`: one digest over them. */
  model: { dir: string; fingerprint: string; files?: Record<string, string>; config: Record<string, unknown> };
  adapter: Record<string, unknown> | null;   // LoraInfo, with `files` (sha256 of config and weights)
  tokenizer: { description: string; fingerprint: string; files?: Record<string, string> };
  data: { dir: string; checksums: Record<string, string> };
  backend: string;
  /** Hugging Face ids the model and adapter were given as: id, revision, resolved commit, Hub file hashes. */
  hub?: { model: HubRef | null; adapter: HubRef | null } | null;
}

/** A per-sentence statistic for box plots. */
export interface SentenceStat {
  statistic: 'pivot-spearman' | 'group-spearman';
  definition: string;             // printed in figure captions
  options: Record<string, unknown>;
  task: string;                   // e.g. 'STSBenchmark' (test split, or `split`)
  values: number[];
  split?: Split;                  // absent: test
}

export interface StsResults {
  kind: 'sts';
  label: string;                  // configuration name used in reports
  provenance: Provenance;
  settings: RunSettings;
  /** What must match for results to be reused (src/experiments/results/run-identity.ts); absent in old files. */
  identity?: RunIdentity;
  tasks: TaskResult[];            // in table order
  /** Table row: label -> Spearman x100 rounded to 2 decimals, plus 'Avg'. */
  table: Record<string, number>;
  /**
   * sentences: unique sentences the run needed; cached: how many of them came from the embedding cache
   * (absent in files written before it was recorded); sentencesPerSecond: embedded (not cached)
   * sentences per second of embedSeconds, null when every sentence came from the cache.
   */
  timings: { loadSeconds: number; embedSeconds: number; sentences: number; cached?: number; sentencesPerSecond: number | null };
  sentenceStats?: SentenceStat[];
  truncation?: TruncationCount;
  /** The scored split: 'test' (what papers report) or 'dev' (STS-B dev, SICK-R trial). Absent: test. */
  split?: Split;
  /** Set by `report` for a `score` results file: predictions made by another tool, settings unknown. */
  external?: { sources: { task: string; file: string; format: string; sha256: string }[] };
  /** The self-check run before embedding when layers ran bidirectionally (null: none did). */
  bidirectionalCheck?: BidirectionalCheck | null;
}

export interface DegradeRow {
  k: number;                      // bidirectional: billmStartIndex (leading causal layers); truncate: layers kept
  tasks: TaskResult[];
  table: Record<string, number>;
}

export interface TurningPoint {
  /** k after which the average drops most in one step (largest avg[k] - avg[k+1]). */
  largestDrop: { k: number; drop: number } | null;
  /** Two-segment least-squares change point of the curve (the k where the best split begins). */
  changePoint: { k: number; sse: number } | null;
}

export interface DegradeResults {
  kind: 'degrade';
  label: string;
  mode: 'bidirectional' | 'truncate';
  provenance: Provenance;
  settings: RunSettings;
  /** Of the sweep (settings + mode); resume and merge require it to match. Absent in old files. */
  identity?: RunIdentity;
  layers: number[];               // requested k values
  rows: DegradeRow[];             // finished k values, ascending
  turningPoint: TurningPoint;
  work: { layerPasses: number; naiveLayerPasses: number };
  shard?: { index: number; count: number };
  truncation?: TruncationCount;
  split?: Split;                  // absent: test
  /** The self-check of this run's layers (bidirectional mode), or null. */
  bidirectionalCheck?: BidirectionalCheck | null;
}

export type Results = StsResults | DegradeResults;
