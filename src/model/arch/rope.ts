// RoPE inverse frequencies per layer type: default (theta^(-2i/D)), linear scaling (divided by
// factor) and Llama-3's rope_type "llama3" (low frequencies divided by factor, the band between
// smoothed), following transformers' modeling_rope_utils.py (_compute_default_rope_parameters,
// _compute_linear_scaling_rope_parameters, _compute_llama3_parameters; transformers 5.18). The
// arithmetic is float64 here; transformers computes the same expressions in float32, so the two
// differ by float32 rounding (test/model/arch/rope-goldens.test.ts checks against its values).
import type { RopeFreqs } from '../../backend/ops.ts';
import type { LayerType, LlamaConfig, RopeParams } from './types.ts';

/** The inverse frequencies [head_dim / 2] of a RoPE parameter set. */
export function invFreqOf(p: RopeParams, headDim: number): Float64Array {
  const half = headDim / 2;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = 1 / Math.pow(p.rope_theta, (2 * i) / headDim);
  if (p.rope_type === 'linear') for (let i = 0; i < half; i++) inv[i] /= p.factor!;
  if (p.rope_type === 'llama3') {
    const factor = p.factor!, lo = p.low_freq_factor!, hi = p.high_freq_factor!, ctx = p.original_max_position_embeddings!;
    const lowFreqWavelen = ctx / lo;
    const highFreqWavelen = ctx / hi;
    for (let i = 0; i < half; i++) {
      const wavelen = (2 * Math.PI) / inv[i];
      if (wavelen < highFreqWavelen) continue;                       // high frequencies: unchanged
      if (wavelen > lowFreqWavelen) { inv[i] /= factor; continue; }   // low frequencies: scaled
      const smooth = (ctx / wavelen - lo) / (hi - lo);                // between: interpolated
      inv[i] = (1 - smooth) * (inv[i] / factor) + smooth * inv[i];
    }
  }
  return inv;
}

/** The RoPE of one layer type of a config, keyed for the backends' table caches. */
export function ropeInvFreq(c: LlamaConfig, layerType: LayerType): Float64Array {
  return invFreqOf(c.arch.rope[layerType], c.head_dim);
}

/** RopeFreqs (the op contract's form) for one layer type. */
export function ropeFreqs(c: LlamaConfig, layerType: LayerType): RopeFreqs {
  const p = c.arch.rope[layerType];
  const key = [p.rope_type, p.rope_theta, p.factor, p.low_freq_factor, p.high_freq_factor, p.original_max_position_embeddings, c.head_dim].join(':');
  return { key, invFreq: invFreqOf(p, c.head_dim) };
}
