// Will a model fit in memory on the CPU backend? Checked before any weight is read, so a 7B model on
// a small machine fails in a second with a clear message instead of after minutes of loading (or
// by the kernel's OOM killer).
//
// The CPU backend keeps weights as fp32 (--dtype fp32: twice a bf16 checkpoint's size) or as 16-bit
// values (--dtype bf16|fp16, and auto on a 16-bit checkpoint) widened per matmul into one reusable
// fp32 buffer the size of the largest linear weight; an adapter's LoRA pairs then stay beside them in
// fp32. lm_head is never loaded. Working buffers are one batch's activations (the buffer pool keeps
// each size once per layer) plus the loader's staging of one tensor, plus the runtime itself.
import os from 'node:os';
import { readFileSync } from 'node:fs';
import { UserError } from '../../errors.ts';

/** The parts of a decoder's config the estimate reads (model/types.ts's LlamaConfig has them; the backend does not import it). */
export interface DecoderShape {
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  head_dim: number;
  vocab_size: number;
}

export interface CpuMemoryOptions {
  /** Tokens per batch (the embedder's batch token budget; default 2048). */
  batchTokens?: number;
  /** Decoder layers that will be loaded (default: all). */
  layers?: number;
  /** Node, V8, tokenizer and the rest of the process (default 512 MiB). */
  runtimeBytes?: number;
  /** How matrices are held (default fp32); norm vectors are always fp32. */
  weightDtype?: 'fp32' | 'bf16' | 'fp16';
  /** Bytes kept beside 16-bit weights (an adapter's LoRA pairs in fp32). */
  extraBytes?: number;
}

export interface CpuMemoryEstimate {
  params: number;              // parameters loaded (no lm_head)
  weightDtype: 'fp32' | 'bf16' | 'fp16';
  weightBytes: number;         // those parameters as held (fp32, or 16-bit matrices + fp32 norms + LoRA pairs)
  checkpointBf16Bytes: number; // the same parameters as bf16 (plus lm_head: the checkpoint on disk)
  workBytes: number;           // activations of one batch, pool slack, loader staging of one tensor
  runtimeBytes: number;
  neededBytes: number;
  availableBytes: number;
  ok: boolean;
  /** A one-line verdict naming needed vs available memory. */
  message: string;
}

const GB = 1e9;
const gb = (b: number): string => `${(b / GB).toFixed(1)} GB`;

/** Parameters the embedding forward loads: embeddings, every layer's projections and norms, the final norm. */
export function loadedParams(c: DecoderShape, layers = c.num_hidden_layers): number {
  const H = c.hidden_size, F = c.intermediate_size, D = c.head_dim;
  const perLayer = H * c.num_attention_heads * D * 2 + H * c.num_key_value_heads * D * 2 + 3 * H * F + 2 * H;
  return c.vocab_size * H + layers * perLayer + H;
}

/** Memory the CPU backend needs for this model, without looking at the machine. */
export function estimateCpuMemory(c: DecoderShape, opts: CpuMemoryOptions = {}): Omit<CpuMemoryEstimate, 'availableBytes' | 'ok' | 'message'> {
  const layers = Math.min(opts.layers ?? c.num_hidden_layers, c.num_hidden_layers);
  const N = opts.batchTokens ?? 2048;
  const H = c.hidden_size, F = c.intermediate_size;
  const qW = c.num_attention_heads * c.head_dim, kW = c.num_key_value_heads * c.head_dim;
  const params = loadedParams(c, layers);
  const weightDtype = opts.weightDtype ?? 'fp32';
  const normParams = (2 * layers + 1) * H;
  const weightBytes = weightDtype === 'fp32' ? 4 * params : 2 * (params - normParams) + 4 * normParams + (opts.extraBytes ?? 0);
  // One layer's activations, all alive in the pool at once: h, x, q, k, v, attention out, o, x2,
  // gate, up, silu*up, down, final norm; x 1.125 for the pool's size buckets.
  const actFloats = N * (6 * H + 2 * qW + 2 * kW + 3 * F);
  // The loader holds one tensor's raw bytes beside its fp32 copy (the largest is the embedding or an MLP matrix).
  const largest = Math.max(c.vocab_size * H, F * H);
  // 16-bit weights: one fp32 copy of the largest linear weight, widened per matmul.
  const widenBytes = weightDtype === 'fp32' ? 0 : 4 * Math.max(F * H, qW * H);
  const workBytes = Math.ceil(4 * actFloats * 1.125) + 2 * largest + widenBytes;
  const runtimeBytes = opts.runtimeBytes ?? 512 * 2 ** 20;
  return {
    params, weightDtype, weightBytes,
    checkpointBf16Bytes: 2 * (params + c.vocab_size * H), // + lm_head, which is in the checkpoint
    workBytes, runtimeBytes, neededBytes: weightBytes + workBytes + runtimeBytes,
  };
}

/**
 * Memory this process can still take: MemAvailable (os.freemem), capped by a cgroup limit minus what
 * the cgroup already uses when the process runs in a container with one.
 */
export function availableMemoryBytes(): number {
  let avail = os.freemem();
  const constrained = typeof process.constrainedMemory === 'function' ? process.constrainedMemory() : undefined;
  if (constrained && constrained > 0 && constrained < os.totalmem()) {
    let used = process.memoryUsage.rss();
    try {
      used = Number(readFileSync('/sys/fs/cgroup/memory.current', 'utf8').trim()) || used;
    } catch { /* cgroup v1 or no access: rss is a lower bound on what is used */ }
    avail = Math.min(avail, Math.max(0, constrained - used));
  }
  return avail;
}

/**
 * Compares the estimate with `freeBytes` (default: what this machine has available now). Returns the
 * estimate when the model fits; throws a UserError naming needed vs available memory and suggesting
 * the GPU backend when it does not. Call it before loading weights.
 */
export function checkCpuMemory(c: DecoderShape, freeBytes: number = availableMemoryBytes(), opts: CpuMemoryOptions = {}): CpuMemoryEstimate {
  const e = estimateCpuMemory(c, opts);
  const ok = e.neededBytes <= freeBytes;
  const sizes = `${(e.params / 1e9).toFixed(2)}B parameters as ${e.weightDtype} ${gb(e.weightBytes)} (the bf16 checkpoint is ${gb(e.checkpointBf16Bytes)}) + working buffers ${gb(e.workBytes)} + runtime ${gb(e.runtimeBytes)}`;
  const message = ok
    ? `CPU backend memory: needs about ${gb(e.neededBytes)} (${sizes}); ${gb(freeBytes)} available`
    : `not enough memory for this model on the CPU backend: it needs about ${gb(e.neededBytes)} (${sizes}) but only ${gb(freeBytes)} is available` +
      ` (this machine has ${gb(os.totalmem())} in all).` +
      (e.weightDtype === 'fp32' ? ' fp32 weights take twice the bf16 checkpoint: --dtype bf16 (or fp16) keeps them 16-bit with fp32 compute;' : '') +
      ` use the GPU backend (--device cuda), a machine with more memory, or fewer layers (--n-layers).`;
  const out = { ...e, availableBytes: freeBytes, ok, message };
  if (!ok) throw new UserError(message);
  return out;
}
