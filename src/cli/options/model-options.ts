// Options shared by the commands that run a model (embed, sts, degrade), and their resolution.
import type { Argv } from 'yargs';
import { POOLINGS, type Pooling } from '../../backend/ops.ts';
import { UserError } from '../../errors.ts';
import { getPreset, presetStartIndex, resolveSettings, type EmbedSettings, type PreprocessName } from '../../model/presets/presets.ts';
import { TOKENIZATIONS, type Tokenization } from '../../model/tokenize/template.ts';

export interface ModelArgs {
  model: string;
  lora?: string;
  preset: string;
  prompt?: string;
  instruction?: string;
  tokenize?: string;
  preprocess?: string;
  pooling?: string;
  'max-length'?: number;
  'billm-mask-compat'?: boolean;
  device: string;
  'cache-dir': string;
  cache: boolean;
  'verify-weights': boolean;
  'batch-tokens'?: number;
  'batch-size'?: number;
  quiet: boolean;
  'data-dir': string;
  revision?: string;
  'lora-revision'?: string;
  dtype?: string;
}

export function withModelOptions<T>(y: Argv<T>, defaultPreset: string) {
  return y
    .option('model', { type: 'string', demandOption: true, describe: 'model directory (config.json + safetensors), or a Hugging Face id org/name[@revision] (hub cache first, else downloaded into it)' })
    .option('lora', { type: 'string', describe: 'PEFT LoRA adapter directory or Hugging Face id org/name[@revision] (merged into the weights at load time)' })
    .option('revision', { type: 'string', describe: 'branch, tag or commit of the --model id (default main)' })
    .option('lora-revision', { type: 'string', describe: 'branch, tag or commit of the --lora id (default main)' })
    .option('dtype', { type: 'string', choices: ['auto', 'fp32', 'bf16', 'fp16'], describe: "GPU: weight and activation type (fp32 accumulation); CPU: weight storage, compute fp32. auto (default): the checkpoint's type on GPU, 16-bit storage of a 16-bit checkpoint on CPU" })
    .option('preset', { type: 'string', default: defaultPreset, describe: 'settings preset (see `bellm-bench presets`); flags below override it' })
    .option('prompt', { type: 'string', describe: 'bellm | prompteol | summarize | none, or a template: {text} {instruction} {bos} {eos}, * marks the pooled span ({text*}), {(}...{)} one piece, \\n a newline (README "Templates")' })
    .option('instruction', { type: 'string', describe: "what the template's {instruction} stands for (overrides the preset's)" })
    .option('tokenize', { type: 'string', choices: [...TOKENIZATIONS], describe: "whole: the prompt tokenized as one string (BeLLM); pieces: each template piece on its own (echo-embeddings)" })
    .option('preprocess', { type: 'string', choices: ['bellm-sts', 'bellm-degrade', 'none'], describe: 'sentence preprocessing' })
    .option('pooling', { type: 'string', choices: [...POOLINGS], describe: 'last | avg | first | weighted (SGPT)' })
    .option('max-length', { type: 'number', describe: 'truncate token ids (BOS included) to this length' })
    .option('billm-mask-compat', { type: 'boolean', describe: "reproduce BiLLM's released masking (bidirectional layers attend to right padding, batch as given)" })
    .option('device', { type: 'string', default: 'auto', choices: ['auto', 'cpu', 'cuda'], describe: 'compute backend' })
    .option('cache-dir', { type: 'string', default: '.cache/bellm-bench', describe: 'embedding cache folder' })
    .option('cache', { type: 'boolean', default: true, describe: 'use the embedding cache (--no-cache: nothing read from or written to --cache-dir)' })
    .option('verify-weights', { type: 'boolean', default: false, describe: 're-hash every weight, adapter and tokenizer file instead of trusting the remembered hashes (see README, reliability)' })
    .option('batch-tokens', { type: 'number', describe: 'tokens per length-sorted batch (default: 2048 on CPU, planned from free memory on GPU)' })
    .option('batch-size', { type: 'number', describe: "sentences per batch, only with --billm-mask-compat (SentEval order; default: the preset's, else 16); otherwise --batch-tokens plans the batches" });
}

/** `\n`, `\t` and `\\` in a --prompt or --instruction given on the command line. */
export function unescapeArg(v: string): string {
  return v.replace(/\\([nt\\])/g, (_, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : '\\'));
}

export function settingsFrom(a: ModelArgs, presetName = a.preset): EmbedSettings & { preset: string } {
  // A repeated --prompt/--instruction never gets here: src/cli/options/guards.ts refuses repeated options.
  const prompt = a.prompt;
  const instruction = a.instruction;
  return resolveSettings(presetName, {
    ...(prompt !== undefined ? { prompt: unescapeArg(prompt) } : {}),
    ...(instruction !== undefined ? { instruction: unescapeArg(instruction) } : {}),
    ...(a.tokenize !== undefined ? { tokenize: a.tokenize as Tokenization } : {}),
    ...(a.preprocess !== undefined ? { preprocess: a.preprocess as PreprocessName } : {}),
    ...(a.pooling !== undefined ? { pooling: a.pooling as Pooling } : {}),
    ...(a['max-length'] !== undefined ? { maxLength: a['max-length'] } : {}),
    ...(a['billm-mask-compat'] !== undefined ? { mask: a['billm-mask-compat'] ? 'billm' : 'correct' } : {}),
  });
}

/**
 * `--billm-start-index k` validated against the model depth; -1 = all causal (BiLLM's -1); absent = what
 * the preset fixes for this depth (llm2vec: 0; bellm-paper: 31 on a 32-layer model, refused on others),
 * else 0 for a model whose config.json asks for bidirectional attention (EmbeddingGemma's
 * use_bidirectional_attention: `nativeBidirectional`), else all causal.
 */
export function startIndexFrom(v: number | undefined, numLayers: number, presetName?: string, nativeBidirectional = false): number | null {
  if (v === undefined) {
    const fixed = presetName === undefined ? null : presetStartIndex(getPreset(presetName), numLayers);
    return fixed ?? (nativeBidirectional ? 0 : null);
  }
  if (v === -1) return null;
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

/**
 * `--batch-size`: BiLLM mask-compat batches (default: the preset's, else 16, SentEval's). Without compat mode batches are
 * planned by token budget and cannot change an embedding, so the option does nothing: say so.
 */
export function batchSizeFrom(v: number | undefined, mask: string, say: (line: string) => void, presetName?: string): number {
  if (v !== undefined && mask !== 'billm') say('--batch-size acts only with --billm-mask-compat (SentEval batches); without it --batch-tokens plans the batches, and --batch-size is ignored');
  return positiveInt('batch-size', v ?? (presetName === undefined ? undefined : getPreset(presetName).batchSize) ?? 16);
}

export function positiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new UserError(`--${name} must be a positive integer, got ${v}`);
  return v;
}
