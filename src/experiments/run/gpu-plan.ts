// GPU memory planning: does the model fit, and how many tokens per batch the rest of the memory takes.
import { loadedParams } from '../../backend/cpu/memory.ts';
import { UserError } from '../../errors.ts';
import type { LlamaConfig } from '../../model/arch/types.ts';

const GB = 1e9;

/** Bytes one token needs at the peak of a layer (residual, its sweep branch, norms, q/k/v, attention, MLP). */
export function activationBytesPerToken(c: LlamaConfig, bytesPerValue: number): number {
  const H = c.hidden_size, F = c.intermediate_size;
  const qkv = (c.num_attention_heads + 2 * c.num_key_value_heads) * c.head_dim;
  const attn = c.num_attention_heads * c.head_dim;
  return (4 * H + qkv + attn + 3 * F) * bytesPerValue;
}

export interface GpuPlan {
  weightBytes: number;
  batchTokens: number;
  message: string;
}

/**
 * Weights must fit in `freeBytes` with `reserveBytes` to spare (cuBLAS workspace, allocator slack);
 * batches then take half of what is left (the other half absorbs fragmentation), capped at `maxTokens`.
 */
export function planGpuMemory(c: LlamaConfig, freeBytes: number, o: { bytesPerValue?: number; reserveBytes?: number; maxTokens?: number } = {}): GpuPlan {
  const bpv = o.bytesPerValue ?? 2;
  const reserve = o.reserveBytes ?? 1.5 * GB;
  const weightBytes = loadedParams(c) * bpv;
  const left = freeBytes - weightBytes - reserve;
  const perToken = activationBytesPerToken(c, bpv);
  const minTokens = 512;
  if (left < minTokens * perToken * 2) {
    throw new UserError(
      `the model does not fit on the GPU: weights take ${(weightBytes / GB).toFixed(1)} GB and a ${minTokens}-token batch ` +
      `${((minTokens * perToken * 2 + reserve) / GB).toFixed(1)} GB more, but ${(freeBytes / GB).toFixed(1)} GB is free; ` +
      'use a GPU with more memory, free it from other processes, or run with --device cpu');
  }
  const batchTokens = Math.max(minTokens, Math.min(o.maxTokens ?? 16384, Math.floor(left / 2 / perToken)));
  return {
    weightBytes, batchTokens,
    message: `GPU memory: weights ${(weightBytes / GB).toFixed(1)} GB, ${(freeBytes / GB).toFixed(1)} GB free; ${batchTokens} tokens per batch`,
  };
}
