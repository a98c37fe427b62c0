// config.json -> LlamaConfig (the decoder config of every supported model_type). Keys keep Hugging
// Face's names; every renaming or default lives in `normalizeConfig` below (transformers 4 vs 5
// spellings, each config class's defaults, as in transformers 5.18's configuration_*.py files), and
// what differs between architectures is decided once, into `arch` (ArchSpec).
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../../errors.ts';
import { MODEL_TYPES, type ArchSpec, type LayerType, type LlamaConfig, type ModelType, type RopeParams } from '../arch/types.ts';

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

/** Translate a parsed config.json (transformers 4 or 5 spellings) and check it is consistent. */
export function normalizeConfig(raw: Raw, file = 'config.json'): LlamaConfig {
  const fail = (msg: string) => new UserError(`${file}: ${msg}`);
  const modelType = raw.model_type;
  if (!(MODEL_TYPES as readonly unknown[]).includes(modelType)) {
    const hint = modelType === 'gemma3' ? ' (a multimodal Gemma-3: use its text model, model_type gemma3_text)' : '';
    throw fail(`model_type ${JSON.stringify(modelType)} is not supported${hint}; supported: ${MODEL_TYPES.join(', ')}`);
  }
  const mt = modelType as ModelType;
  const gemma = mt === 'gemma2' || mt === 'gemma3_text';
  const qwen = mt === 'qwen2' || mt === 'qwen3';

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
  const bool = (key: string, dflt: boolean): boolean => {
    const v = raw[key] ?? dflt;
    if (typeof v !== 'boolean') throw fail(`${key} must be true or false, got ${JSON.stringify(v)}`);
    return v;
  };

  // The MLP activation: SiLU (SwiGLU) for LLaMA, Mistral, Qwen; tanh GELU (GeGLU) for Gemma, which reads hidden_activation.
  const actKey = gemma && raw.hidden_activation != null ? 'hidden_activation' : 'hidden_act';
  const actName = raw[actKey] ?? (gemma ? 'gelu_pytorch_tanh' : 'silu');
  const act = actName === 'silu' || actName === 'swish' ? 'silu' : actName === 'gelu_pytorch_tanh' || actName === 'gelu_tanh' ? 'gelu_tanh' : null;
  if (act === null || (gemma ? act !== 'gelu_tanh' : act !== 'silu'))
    throw fail(`${actKey} ${JSON.stringify(actName)} is not supported for ${mt} (${gemma ? 'gelu_pytorch_tanh' : 'silu'})`);
  if (raw.mlp_bias === true) throw fail('mlp_bias true is not supported');
  const attentionBias = bool('attention_bias', false);
  if (raw.partial_rotary_factor != null && raw.partial_rotary_factor !== 1) throw fail(`partial_rotary_factor ${JSON.stringify(raw.partial_rotary_factor)} is not supported (only 1: RoPE on the whole head)`);

  const hidden_size = int('hidden_size');
  const num_hidden_layers = int('num_hidden_layers');
  const num_attention_heads = int('num_attention_heads');
  const num_key_value_heads = int('num_key_value_heads', num_attention_heads);
  if (num_attention_heads % num_key_value_heads !== 0)
    throw fail(`num_attention_heads ${num_attention_heads} is not a multiple of num_key_value_heads ${num_key_value_heads}`);
  let head_dim: number;
  if (raw.head_dim != null) {
    head_dim = int('head_dim'); // may differ from hidden_size / num_attention_heads (Mistral, Qwen-3, Gemma)
  } else if (mt === 'qwen3') {
    head_dim = 128; // Qwen3Config's default
  } else if (gemma) {
    head_dim = 256; // Gemma2Config's and Gemma3TextConfig's default
  } else {
    if (hidden_size % num_attention_heads !== 0)
      throw fail(`hidden_size ${hidden_size} is not divisible by num_attention_heads ${num_attention_heads}`);
    head_dim = hidden_size / num_attention_heads;
  }
  if (head_dim % 2 !== 0) throw fail(`head_dim ${head_dim} must be even for RoPE`);
  const max_position_embeddings = int('max_position_embeddings', DEFAULT_MAX_POSITIONS[mt]);

  // Which layers slide, and how wide the window is (transformers' layer_types, or each config class's rule).
  let sliding_window: number | null;
  if (qwen) sliding_window = bool('use_sliding_window', false) && raw.sliding_window != null ? int('sliding_window') : null;
  else if (mt === 'llama') sliding_window = null;
  else sliding_window = raw.sliding_window === null ? null : int('sliding_window', 4096);
  const layer_types = layerTypes(raw, mt, num_hidden_layers, sliding_window, fail);
  if (sliding_window === null && layer_types.includes('sliding_attention')) throw fail('layer_types has sliding_attention layers but sliding_window is null');

  const rope = ropeOf(raw, mt, max_position_embeddings, fail);
  const softcapRaw = 'attn_logit_softcapping' in raw ? raw.attn_logit_softcapping : mt === 'gemma2' ? 50.0 : null;
  const attn_softcap = softcapRaw === null || softcapRaw === undefined ? null : num('attn_logit_softcapping', softcapRaw);
  if (attn_softcap !== null && !gemma) throw fail(`attn_logit_softcapping is a Gemma setting; ${mt} has none`);
  const queryScalar = gemma ? num('query_pre_attn_scalar', raw.query_pre_attn_scalar ?? 256) : head_dim;

  const arch: ArchSpec = {
    layer_types,
    sliding_window,
    rope,
    qkv_bias: mt === 'qwen2' || attentionBias,
    o_bias: mt !== 'qwen2' && attentionBias,
    qk_norm: mt === 'qwen3' || mt === 'gemma3_text',
    norm_plus_one: gemma,
    // transformers: sqrt(hidden_size) as a float32 tensor, cast to the weights' dtype (fp32 here)
    embed_scale: gemma ? Math.fround(Math.sqrt(hidden_size)) : null,
    act,
    sandwich_norms: gemma,
    attn_scale: 1 / Math.sqrt(queryScalar),
    attn_softcap,
    tie_word_embeddings: bool('tie_word_embeddings', gemma),
    bidirectional: raw.use_bidirectional_attention === true,
  };

  const torchDtype = raw.torch_dtype ?? raw.dtype ?? null; // transformers 5 says dtype
  const pad = raw.pad_token_id ?? null;
  const bos = 'bos_token_id' in raw ? raw.bos_token_id : DEFAULT_BOS[mt];
  if (bos !== null && (!Number.isSafeInteger(bos) || (bos as number) < 0)) throw fail(`bos_token_id must be one integer or null, got ${JSON.stringify(bos)}`);
  if (pad !== null && (!Number.isSafeInteger(pad) || (pad as number) < 0)) throw fail(`pad_token_id must be an integer or null, got ${JSON.stringify(pad)}`);

  return {
    model_type: mt,
    hidden_size,
    intermediate_size: int('intermediate_size'),
    num_hidden_layers,
    num_attention_heads,
    num_key_value_heads,
    head_dim,
    rms_norm_eps: num('rms_norm_eps', raw.rms_norm_eps ?? 1e-6),
    rope_theta: rope.full_attention.rope_theta,
    vocab_size: int('vocab_size'),
    max_position_embeddings,
    torch_dtype: typeof torchDtype === 'string' ? torchDtype.replace(/^torch\./, '') : null,
    bos_token_id: bos as number | null,
    pad_token_id: pad as number | null,
    arch,
  };
}

/** transformers' defaults per config class. */
const DEFAULT_MAX_POSITIONS: Record<ModelType, number> = {
  llama: 2048, mistral: 4096 * 32, qwen2: 32768, qwen3: 32768, gemma2: 8192, gemma3_text: 131072,
};
const DEFAULT_BOS: Record<ModelType, number | null> = {
  llama: 1, mistral: 1, qwen2: null, qwen3: null, gemma2: 2, gemma3_text: 2,
};

type Fail = (msg: string) => UserError;

/** layer_types as config.json lists it, else the rule of the model's config class. */
function layerTypes(raw: Raw, mt: ModelType, L: number, window: number | null, fail: Fail): LayerType[] {
  const given = raw.layer_types;
  if (given != null) {
    if (!Array.isArray(given) || given.length !== L || given.some((x) => x !== 'full_attention' && x !== 'sliding_attention'))
      throw fail(`layer_types must list full_attention or sliding_attention for each of the ${L} layers, got ${JSON.stringify(given).slice(0, 80)}`);
    return given as LayerType[];
  }
  const all = (t: LayerType) => new Array<LayerType>(L).fill(t);
  switch (mt) {
    case 'llama': return all('full_attention');
    case 'mistral': return all(window === null ? 'full_attention' : 'sliding_attention');
    case 'qwen2': case 'qwen3': {
      // Qwen2Config: layers from max_window_layers on slide, when use_sliding_window
      const from = raw.max_window_layers == null ? 28 : raw.max_window_layers;
      if (!Number.isSafeInteger(from) || (from as number) < 0) throw fail(`max_window_layers must be an integer >= 0, got ${JSON.stringify(from)}`);
      return Array.from({ length: L }, (_, i) => (window !== null && i >= (from as number) ? 'sliding_attention' : 'full_attention'));
    }
    case 'gemma2': return Array.from({ length: L }, (_, i) => ((i + 1) % 2 ? 'sliding_attention' : 'full_attention'));
    case 'gemma3_text': {
      const p = raw.sliding_window_pattern ?? 6;
      if (!Number.isSafeInteger(p) || (p as number) < 1) throw fail(`sliding_window_pattern must be a positive integer, got ${JSON.stringify(p)}`);
      return Array.from({ length: L }, (_, i) => ((i + 1) % (p as number) ? 'sliding_attention' : 'full_attention'));
    }
  }
}

const ROPE_TYPES = ['default', 'linear', 'llama3'] as const;

/** RoPE per layer type from rope_parameters (transformers 5: flat, or nested by layer type) or rope_theta + rope_scaling (4). */
function ropeOf(raw: Raw, mt: ModelType, maxPos: number, fail: Fail): Record<LayerType, RopeParams> {
  const gemma3 = mt === 'gemma3_text';
  const globalTheta = raw.rope_theta ?? (gemma3 ? 1_000_000 : 10000);
  const rp = raw.rope_parameters;
  if (rp != null && (typeof rp !== 'object' || Array.isArray(rp))) throw fail('rope_parameters must be an object');
  const nested = rp != null && ('full_attention' in (rp as Raw) || 'sliding_attention' in (rp as Raw));
  if (nested) {
    const r = rp as Raw;
    const full = parseRope(r.full_attention as Raw | null, globalTheta, maxPos, 'rope_parameters.full_attention', fail);
    const slidingDefault = gemma3 ? raw.rope_local_base_freq ?? 10000 : globalTheta;
    const sliding = r.sliding_attention == null ? (gemma3 ? parseRope(null, slidingDefault, maxPos, 'rope_parameters.sliding_attention', fail) : full)
      : parseRope(r.sliding_attention as Raw, slidingDefault, maxPos, 'rope_parameters.sliding_attention', fail);
    return { full_attention: full, sliding_attention: sliding };
  }
  const flat = (rp ?? raw.rope_scaling ?? null) as Raw | null;
  if (flat !== null && (typeof flat !== 'object' || Array.isArray(flat))) throw fail('rope_scaling must be an object or null');
  const full = parseRope(flat, globalTheta, maxPos, rp != null ? 'rope_parameters' : 'rope_scaling', fail);
  // Gemma-3 (transformers 4): rope_scaling is for the global layers; the local ones use rope_local_base_freq, unscaled
  const sliding = gemma3 ? parseRope(null, raw.rope_local_base_freq ?? 10000, maxPos, 'rope_local_base_freq', fail) : full;
  return { full_attention: full, sliding_attention: sliding };
}

function parseRope(obj: Raw | null, theta: unknown, maxPos: number, key: string, fail: Fail): RopeParams {
  const type = obj ? (obj.rope_type ?? obj.type ?? 'default') : 'default';
  if (!(ROPE_TYPES as readonly unknown[]).includes(type))
    throw fail(`${key} type ${JSON.stringify(type)} is not supported (supported: ${ROPE_TYPES.join(', ')})`);
  const pos = (name: string, v: unknown): number => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw fail(`${key}.${name} must be a positive number, got ${JSON.stringify(v)}`);
    return v;
  };
  const out: RopeParams = { rope_type: type as RopeParams['rope_type'], rope_theta: pos('rope_theta', obj?.rope_theta ?? theta) };
  if (type === 'linear') out.factor = pos('factor', obj!.factor);
  if (type === 'llama3') {
    out.factor = pos('factor', obj!.factor);
    out.low_freq_factor = pos('low_freq_factor', obj!.low_freq_factor);
    out.high_freq_factor = pos('high_freq_factor', obj!.high_freq_factor);
    out.original_max_position_embeddings = pos('original_max_position_embeddings', obj!.original_max_position_embeddings ?? maxPos);
    if (out.high_freq_factor <= out.low_freq_factor) throw fail(`${key}: high_freq_factor must exceed low_freq_factor`);
  }
  return out;
}

/** The ArchSpec of a plain LLaMA (config.json without architecture options), for configs built in code. */
export function llamaArch(numLayers: number, headDim: number, ropeTheta = 10000): ArchSpec {
  return normalizeConfig({
    model_type: 'llama', num_hidden_layers: numLayers, head_dim: headDim, rope_theta: ropeTheta,
    hidden_size: headDim, num_attention_heads: 1, intermediate_size: 1, vocab_size: 1,
  }).arch;
}
