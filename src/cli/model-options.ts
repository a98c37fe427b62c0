// Options shared by the commands that run a model (embed, sts, degrade), and their resolution.
import type { Argv } from 'yargs';
import { POOLINGS, type Pooling } from '../backend/ops.ts';
import { UserError } from '../errors.ts';
import { openEmbedder } from '../experiments/setup.ts';
import { resolveSettings, type EmbedSettings, type PreprocessName } from '../model/presets.ts';

export interface ModelArgs {
  model: string;
  lora?: string;
  preset: string;
  prompt?: string;
  preprocess?: string;
  pooling?: string;
  'max-length'?: number;
  'billm-mask-compat'?: boolean;
  device: string;
  'cache-dir': string;
  cache: boolean;
  'batch-tokens'?: number;
  'batch-size': number;
  quiet: boolean;
  'data-dir': string;
}

export function withModelOptions<T>(y: Argv<T>, defaultPreset: string) {
  return y
    .option('model', { type: 'string', demandOption: true, describe: 'Hugging Face model directory (config.json + safetensors)' })
    .option('lora', { type: 'string', describe: 'PEFT LoRA adapter directory (merged into the weights at load time)' })
    .option('preset', { type: 'string', default: defaultPreset, describe: 'settings preset (see `bellm-bench presets`); flags below override it' })
    .option('prompt', { type: 'string', describe: 'bellm | prompteol | summarize | none, or a template containing {text}' })
    .option('preprocess', { type: 'string', choices: ['bellm-sts', 'bellm-degrade', 'none'], describe: 'sentence preprocessing' })
    .option('pooling', { type: 'string', choices: [...POOLINGS], describe: 'last | avg | first | weighted (SGPT)' })
    .option('max-length', { type: 'number', describe: 'truncate token ids (BOS included) to this length' })
    .option('billm-mask-compat', { type: 'boolean', describe: "reproduce BiLLM's released masking (bidirectional layers attend to right padding, batch as given)" })
    .option('device', { type: 'string', default: 'auto', choices: ['auto', 'cpu', 'cuda'], describe: 'compute backend' })
    .option('cache-dir', { type: 'string', default: '.cache/bellm-bench', describe: 'embedding cache folder' })
    .option('cache', { type: 'boolean', default: true, describe: 'use the embedding cache (--no-cache to disable)' })
    .option('batch-tokens', { type: 'number', describe: 'tokens per length-sorted batch (default: 2048 on CPU, planned from free memory on GPU)' })
    .option('batch-size', { type: 'number', default: 16, describe: 'sentences per batch with --billm-mask-compat (SentEval order)' });
}

export function settingsFrom(a: ModelArgs): EmbedSettings & { preset: string } {
  return resolveSettings(a.preset, {
    ...(a.prompt !== undefined ? { prompt: a.prompt } : {}),
    ...(a.preprocess !== undefined ? { preprocess: a.preprocess as PreprocessName } : {}),
    ...(a.pooling !== undefined ? { pooling: a.pooling as Pooling } : {}),
    ...(a['max-length'] !== undefined ? { maxLength: a['max-length'] } : {}),
    ...(a['billm-mask-compat'] !== undefined ? { mask: a['billm-mask-compat'] ? 'billm' : 'correct' } : {}),
  });
}

/** A model opened from the arguments: the embedder, its load time and the backend's batch size. */
export type OpenedModel = Awaited<ReturnType<typeof openEmbedder>>;

/**
 * The one place arguments become an open model: `sts`, `degrade` and the cells of an experiment grid
 * (which opens a model once and hands it to every cell that shares it) all come here. An option that
 * changes how the model is loaded goes into this call.
 */
export async function openModel(a: ModelArgs): Promise<OpenedModel> {
  return openEmbedder({ model: a.model, lora: a.lora, device: a.device, quiet: a.quiet });
}

/** `--billm-start-index k` validated against the model depth; -1 or absent = all causal (BiLLM's -1). */
export function startIndexFrom(v: number | undefined, numLayers: number): number | null {
  if (v === undefined || v === -1) return null;
  if (!Number.isInteger(v) || v < 0 || v > numLayers) {
    throw new UserError(`--billm-start-index ${v} is outside 0..${numLayers} (the model has ${numLayers} layers; -1 = all causal)`);
  }
  return v;
}

export function nLayersFrom(v: number | undefined, numLayers: number): number | null {
  if (v === undefined) return null;
  if (!Number.isInteger(v) || v < 1 || v > numLayers) throw new UserError(`--n-layers ${v} is outside 1..${numLayers}`);
  return v;
}

/** The explicit --batch-tokens, or the backend's planned size. */
export function batchTokensFrom(v: number | undefined, planned: number): number {
  return v === undefined ? planned : positiveInt('batch-tokens', v);
}

export function positiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new UserError(`--${name} must be a positive integer, got ${v}`);
  return v;
}
