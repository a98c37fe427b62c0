// The results files written by `sts` and `degrade` and read by `report` (which never recomputes).
import type { CorrelationPair, SubsetScore } from '../eval/sts.ts';
import type { HubRef } from '../model/types.ts';
import type { BidirectionalCheck } from '../model/bidirectional-check.ts';

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

export interface RunSettings {
  preset: string;
  preprocess: string;
  prompt: string;
  pooling: string;
  maxLength: number;
  mask: string;                   // 'correct' | 'billm'
  billmStartIndex: number | null;
  nLayers: number | null;
  /** --dtype resolved: weights as held on the CPU (16-bit widened per matmul) or stored on the GPU. */
  dtype?: 'fp32' | 'bf16' | 'fp16';
  /** The activations' type: fp32 on the CPU, the GPU's storage type there (fp32 accumulation everywhere). */
  computeDtype?: 'fp32' | 'bf16' | 'fp16';
  /** Sentences per batch in BiLLM mask-compat mode (where batch composition changes numbers); null otherwise. */
  batchSize?: number | null;
}

export interface Provenance {
  tool: { name: 'bellm-bench'; version: string };
  software: Record<string, string>; // node, platform, backend
  createdAt: string;
  model: { dir: string; fingerprint: string; config: Record<string, unknown> };
  adapter: Record<string, unknown> | null;
  tokenizer: { description: string; fingerprint: string };
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
  task: string;                   // e.g. 'STSBenchmark' (test split)
  values: number[];
}

export interface StsResults {
  kind: 'sts';
  label: string;                  // configuration name used in reports
  provenance: Provenance;
  settings: RunSettings;
  tasks: TaskResult[];            // in table order
  /** Table row: label -> Spearman x100 rounded to 2 decimals, plus 'Avg'. */
  table: Record<string, number>;
  timings: { loadSeconds: number; embedSeconds: number; sentences: number; sentencesPerSecond: number };
  sentenceStats?: SentenceStat[];
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
  layers: number[];               // requested k values
  rows: DegradeRow[];             // finished k values, ascending
  turningPoint: TurningPoint;
  work: { layerPasses: number; naiveLayerPasses: number };
  shard?: { index: number; count: number };
  /** The self-check of this run's layers (bidirectional mode), or null. */
  bidirectionalCheck?: BidirectionalCheck | null;
}

export type Results = StsResults | DegradeResults;
