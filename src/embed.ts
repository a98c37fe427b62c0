// Library entry: embed(sentences, options) without the CLI.
import type { Pooling } from './backend/ops.ts';
import { openEmbedder } from './experiments/run/setup.ts';
import { openEmbeddingCache } from './experiments/results/run-identity.ts';
import type { Embedder, RunOptions } from './model/embed/embedder.ts';
import { resolveSource } from './model/hub/resolve.ts';
import type { DtypeOption } from './model/formats/precision.ts';
import { getPreset, presetStartIndex, resolveSettings, type EmbedSettings, type PreprocessName } from './model/presets/presets.ts';
import type { Tokenization } from './model/tokenize/template.ts';

export interface EmbedOptions {
  /** A directory or a Hugging Face id org/name[@revision] (hub cache first, else downloaded into it). */
  model: string;
  lora?: string;
  /** auto (default) | fp32 | bf16 | fp16 (src/model/formats/precision.ts). */
  dtype?: DtypeOption;
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
  let e = o.embedder;
  if (!e) {
    const model = await resolveSource(o.model, { kind: 'model', flag: '--model' });
    const lora = o.lora ? await resolveSource(o.lora, { kind: 'adapter', flag: '--lora' }) : null;
    const hub = model.hub || lora?.hub ? { model: model.hub, adapter: lora?.hub ?? null } : undefined;
    e = openEmbedder({ model: model.dir, lora: lora?.dir, device: o.device, quiet: true, dtype: o.dtype, ...(hub ? { hub } : {}) }).embedder;
  }
  const run: RunOptions = {
    ...settings,
    // absent: the preset's k, else 0 for a model whose config.json asks for bidirectional attention, else all causal
    billmStartIndex: o.billmStartIndex === undefined
      ? presetStartIndex(getPreset(o.preset ?? 'bellm-sts'), e.decoder.numLayers) ?? (e.model.config.arch.bidirectional ? 0 : null)
      : o.billmStartIndex,
    nLayers: o.nLayers ?? null, batchTokens: o.batchTokens,
  };
  run.cache = openEmbeddingCache(e, run, o.cacheDir);
  return e.embed(sentences, run);
}
