// Library entry: embed(sentences, options) without the CLI.
import type { Pooling } from './backend/ops.ts';
import { openEmbedder } from './experiments/setup.ts';
import { openEmbeddingCache } from './experiments/run-identity.ts';
import type { Embedder, RunOptions } from './model/embedder.ts';
import { presetStartIndex, resolveSettings, type EmbedSettings, type PreprocessName } from './model/presets.ts';
import type { Tokenization } from './model/template.ts';

export interface EmbedOptions {
  model: string;
  lora?: string;
  preset?: string;                  // default 'bellm-sts'
  prompt?: string;                  // a template (README "Templates")
  instruction?: string;             // what {instruction} stands for
  tokenize?: Tokenization;
  preprocess?: PreprocessName;
  pooling?: Pooling;
  maxLength?: number;
  billmMaskCompat?: boolean;
  billmStartIndex?: number | null;  // default: the preset's (null = all causal; llm2vec: 0)
  nLayers?: number | null;
  device?: 'auto' | 'cpu' | 'cuda';
  cacheDir?: string | null;         // default: no cache
  batchTokens?: number;
  /** Reuse an opened model across calls. */
  embedder?: Embedder;
}

export async function embed(sentences: readonly string[], o: EmbedOptions): Promise<Float32Array[]> {
  const settings: EmbedSettings = resolveSettings(o.preset ?? 'bellm-sts', {
    prompt: o.prompt, instruction: o.instruction, tokenize: o.tokenize, preprocess: o.preprocess, pooling: o.pooling, maxLength: o.maxLength,
    mask: o.billmMaskCompat === undefined ? undefined : o.billmMaskCompat ? 'billm' : 'correct',
  });
  const e = o.embedder ?? openEmbedder({ model: o.model, lora: o.lora, device: o.device, quiet: true }).embedder;
  const run: RunOptions = {
    ...settings, billmStartIndex: o.billmStartIndex === undefined ? presetStartIndex(o.preset ?? 'bellm-sts') : o.billmStartIndex,
    nLayers: o.nLayers ?? null, batchTokens: o.batchTokens,
  };
  run.cache = openEmbeddingCache(e, run, o.cacheDir);
  return e.embed(sentences, run);
}
