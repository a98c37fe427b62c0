// config.json -> LlamaConfig. Keys keep Hugging Face's names; every renaming or default lives in
// `normalizeConfig` below (transformers 4 vs 5 spellings, llama vs mistral defaults).
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../../errors.ts';
import type { LlamaConfig } from '../arch/types.ts';

type Raw = Record<string, unknown>;

/** Read and validate `<dir>/config.json`. */
export function readConfig(dir: string): LlamaConfig {
  const file = path.join(dir, 'config.json');
  if (!fs.existsSync(file)) {
    const why = fs.existsSync(dir) ? 'no config.json in' : 'no such directory';
    throw new UserError(`${why} ${dir}: expected a Hugging Face model directory (config.json + *.safetensors)`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UserError(`${file} is not valid JSON (${(e as Error).message}); re-download it`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new UserError(`${file} is not a JSON object`);
  return normalizeConfig(raw as Raw, file);
}

/** Translate a parsed config.json (transformers 4 or 5, llama or mistral) and check it is consistent. */
export function normalizeConfig(raw: Raw, file = 'config.json'): LlamaConfig {
  const fail = (msg: string) => new UserError(`${file}: ${msg}`);
  const modelType = raw.model_type;
  if (modelType !== 'llama' && modelType !== 'mistral')
    throw fail(`model_type ${JSON.stringify(modelType)} is not supported (only llama and mistral; others need their own decoder)`);

  const int = (key: string, dflt?: number): number => {
    const v = raw[key] ?? dflt;
    if (v === undefined) throw fail(`missing ${key}`);
    if (!Number.isSafeInteger(v) || (v as number) <= 0) throw fail(`${key} must be a positive integer, got ${JSON.stringify(v)}`);
    return v as number;
  };
  const num = (key: string, v: unknown): number => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw fail(`${key} must be a positive number, got ${JSON.stringify(v)}`);
    return v;
  };

  // Architecture switches our decoder does not implement.
  if ((raw.hidden_act ?? 'silu') !== 'silu') throw fail(`hidden_act ${JSON.stringify(raw.hidden_act)} is not supported (only silu)`);
  if (raw.attention_bias === true) throw fail('attention_bias true is not supported (LLaMA/Mistral have no q/k/v/o biases)');
  if (raw.mlp_bias === true) throw fail('mlp_bias true is not supported');

  // RoPE: transformers 4 writes rope_theta (+ rope_scaling), transformers 5 writes rope_parameters.
  const rp = raw.rope_parameters as Raw | null | undefined;
  const scaling = (raw.rope_scaling ?? null) as Raw | null;
  for (const [key, obj] of [['rope_scaling', scaling], ['rope_parameters', rp ?? null]] as const) {
    const type = obj ? (obj.rope_type ?? obj.type ?? 'default') : 'default';
    if (type !== 'default') throw fail(`${key} type ${JSON.stringify(type)} is not supported (only plain RoPE: null or "default")`);
  }
  const rope_theta = num('rope_theta', rp?.rope_theta ?? raw.rope_theta ?? 10000);

  const hidden_size = int('hidden_size');
  const num_attention_heads = int('num_attention_heads');
  const num_key_value_heads = int('num_key_value_heads', num_attention_heads);
  if (num_attention_heads % num_key_value_heads !== 0)
    throw fail(`num_attention_heads ${num_attention_heads} is not a multiple of num_key_value_heads ${num_key_value_heads}`);
  let head_dim: number;
  if (raw.head_dim != null) {
    head_dim = int('head_dim'); // Mistral-style: may differ from hidden_size / num_attention_heads
  } else {
    if (hidden_size % num_attention_heads !== 0)
      throw fail(`hidden_size ${hidden_size} is not divisible by num_attention_heads ${num_attention_heads}`);
    head_dim = hidden_size / num_attention_heads;
  }
  if (head_dim % 2 !== 0) throw fail(`head_dim ${head_dim} must be even for RoPE`);

  const torchDtype = raw.torch_dtype ?? raw.dtype ?? null; // transformers 5 says dtype
  const pad = raw.pad_token_id ?? null;
  const bos = raw.bos_token_id ?? 1;
  if (!Number.isSafeInteger(bos) || (bos as number) < 0) throw fail(`bos_token_id must be one integer, got ${JSON.stringify(bos)}`);
  if (pad !== null && (!Number.isSafeInteger(pad) || (pad as number) < 0)) throw fail(`pad_token_id must be an integer or null, got ${JSON.stringify(pad)}`);
  // sliding_window (mistral) is ignored: it only matters beyond 4096 tokens.

  return {
    model_type: modelType,
    hidden_size,
    intermediate_size: int('intermediate_size'),
    num_hidden_layers: int('num_hidden_layers'),
    num_attention_heads,
    num_key_value_heads,
    head_dim,
    rms_norm_eps: num('rms_norm_eps', raw.rms_norm_eps ?? 1e-6),
    rope_theta,
    vocab_size: int('vocab_size'),
    max_position_embeddings: int('max_position_embeddings', modelType === 'mistral' ? 4096 * 32 : 2048),
    torch_dtype: typeof torchDtype === 'string' ? torchDtype.replace(/^torch\./, '') : null,
    bos_token_id: bos as number,
    pad_token_id: pad as number | null,
  };
}
