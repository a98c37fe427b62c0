// A random LLaMA checkpoint written into a temp folder (config.json, one model.safetensors, and the
// tokenizer files copied from the fixture), for tests that need a model far larger than tiny-llama.
import { closeSync, copyFileSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { neededTensors } from '../../src/model/formats/checkpoint.ts';
import { toHalfBits } from '../../src/model/formats/dtype.ts';
import type { LlamaConfig } from '../../src/model/arch/types.ts';
import { fixture } from './shared.ts';
import { llamaArch } from '../../src/model/formats/config.ts';

export interface RandomLlamaShape { hidden: number; intermediate: number; layers: number; heads: number; kvHeads: number }

export function randomLlamaConfig(s: RandomLlamaShape): LlamaConfig {
  return {
    model_type: 'llama', hidden_size: s.hidden, intermediate_size: s.intermediate, num_hidden_layers: s.layers,
    num_attention_heads: s.heads, num_key_value_heads: s.kvHeads, head_dim: s.hidden / s.heads, rms_norm_eps: 1e-5,
    rope_theta: 10000, vocab_size: 32000, max_position_embeddings: 4096, torch_dtype: 'float32', bos_token_id: 1, pad_token_id: null,
    arch: llamaArch(s.layers, s.hidden / s.heads),
  };
}

/**
 * Writes the same random LLaMA as an F32 checkpoint into `f32Dir` and as BF16 (each value rounded to
 * nearest even) into `bf16Dir`: config.json, one model.safetensors, the fixture's tokenizer files.
 * Values come from one xorshift stream: matrices uniform in +-1/sqrt(fan-in), norms around 1.
 * Returns the parameter count.
 */
export function writeRandomLlama(f32Dir: string, bf16Dir: string, s: RandomLlamaShape, seed = 12345): number {
  const c = randomLlamaConfig(s);
  const tensors = neededTensors(c);
  const files = ([[f32Dir, 'F32', 4], [bf16Dir, 'BF16', 2]] as const).map(([dir, dtype, bytesPer]) => {
    writeFileSync(join(dir, 'config.json'), JSON.stringify({
      model_type: 'llama', architectures: ['LlamaForCausalLM'], hidden_size: c.hidden_size, intermediate_size: c.intermediate_size,
      num_hidden_layers: c.num_hidden_layers, num_attention_heads: c.num_attention_heads, num_key_value_heads: c.num_key_value_heads,
      rms_norm_eps: c.rms_norm_eps, rope_theta: c.rope_theta, vocab_size: c.vocab_size, max_position_embeddings: c.max_position_embeddings,
      torch_dtype: dtype === 'F32' ? 'float32' : 'bfloat16', bos_token_id: 1, eos_token_id: 2, hidden_act: 'silu',
    }));
    for (const f of ['tokenizer.model', 'tokenizer.json', 'tokenizer_config.json']) copyFileSync(fixture(`tiny-llama/${f}`), join(dir, f));
    const header: Record<string, unknown> = {};
    let off = 0;
    for (const t of tensors) {
      const n = t.shape.reduce((a, b) => a * b, 1);
      header[t.name] = { dtype, shape: t.shape, data_offsets: [off, off + n * bytesPer] };
      off += n * bytesPer;
    }
    let json = JSON.stringify(header);
    json += ' '.repeat((8 - (json.length % 8)) % 8);
    const fd = openSync(join(dir, 'model.safetensors'), 'w');
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    writeSync(fd, len);
    writeSync(fd, json);
    return fd;
  });
  try {
    let x = seed >>> 0 || 1;
    let params = 0;
    for (const t of tensors) {
      const n = t.shape.reduce((a, b) => a * b, 1);
      const scale = t.shape.length === 2 ? 1 / Math.sqrt(t.shape[1]) : 0.1;
      const base = t.shape.length === 2 ? 0 : 1;
      const vals = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
        vals[i] = base + scale * (((x >>> 0) / 4294967296) * 2 - 1);
      }
      const bits = toHalfBits('bf16', vals);
      writeSync(files[0], new Uint8Array(vals.buffer));
      writeSync(files[1], new Uint8Array(bits.buffer));
      params += n;
    }
    return params;
  } finally {
    files.forEach((fd) => closeSync(fd));
  }
}
