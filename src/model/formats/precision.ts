// --dtype auto|fp32|bf16|fp16: what it means on each device, resolved before any weight is read.
//   GPU (CUDA): the storage type of weights and activations (fp32 accumulation in every kernel and GEMM).
//               auto = the checkpoint's torch_dtype / dtype (config.json), else its tensors' type.
//   CPU:        the type weights are held in (16-bit values are widened to fp32 per matmul); activations
//               and accumulation are always fp32. auto = the checkpoint's tensor type when every matrix
//               is stored bf16 (or every one fp16): lossless, about half the memory of fp32; else fp32.
// So `--dtype bf16` on the CPU computes fp32 on bf16-rounded weights, which is not what a bf16 GPU
// run computes (it also rounds activations); results record both types and the backend.
import { UserError } from '../../errors.ts';
import { Checkpoint, neededTensors } from './checkpoint.ts';
import type { LlamaConfig } from '../arch/types.ts';

export type Dtype = 'fp32' | 'bf16' | 'fp16';
export type DtypeOption = 'auto' | Dtype;
export const DTYPE_OPTIONS: readonly DtypeOption[] = ['auto', 'fp32', 'bf16', 'fp16'];

export function parseDtype(s: string): DtypeOption {
  const d = s.trim().toLowerCase();
  const alias: Record<string, DtypeOption> = { float32: 'fp32', bfloat16: 'bf16', float16: 'fp16', half: 'fp16' };
  const v = alias[d] ?? d;
  if ((DTYPE_OPTIONS as readonly string[]).includes(v)) return v as DtypeOption;
  throw new UserError(`--dtype ${s}: choose one of ${DTYPE_OPTIONS.join(', ')}`);
}

const TORCH: Record<string, Dtype> = { bfloat16: 'bf16', float16: 'fp16', float32: 'fp32', half: 'fp16', float: 'fp32' };
const STORED: Record<string, Dtype> = { BF16: 'bf16', F16: 'fp16', F32: 'fp32' };

/** The one type every matrix (embeddings, linears) of the checkpoint is stored in, or null when mixed. */
export function storedMatrixDtype(dir: string, config: LlamaConfig): Dtype | null {
  const ckpt = Checkpoint.open(dir);
  const kinds = new Set(neededTensors(config).filter((t) => t.shape.length === 2).map((t) => ckpt.dtype(t.name)));
  if (kinds.size !== 1) return null;
  return STORED[[...kinds][0]] ?? null;
}

/** How the CPU backend holds the weights for this option (auto: lossless). */
export function cpuWeightDtype(opt: DtypeOption, dir: string, config: LlamaConfig): Dtype {
  if (opt !== 'auto') return opt;
  const stored = storedMatrixDtype(dir, config);
  return stored === 'bf16' || stored === 'fp16' ? stored : 'fp32';
}

/** The CUDA backend's precision for this option (auto: the checkpoint's torch_dtype, as transformers' torch_dtype="auto"). */
export function cudaDtype(opt: DtypeOption, dir: string, config: LlamaConfig): Dtype {
  if (opt !== 'auto') return opt;
  const declared = config.torch_dtype ? TORCH[config.torch_dtype] : undefined;
  if (declared) return declared;
  return storedMatrixDtype(dir, config) ?? 'bf16';
}

/**
 * What a run records as its precision: the weights' type, and the activations' type, which is the
 * weights' on a GPU (its storage type) and always fp32 on the CPU (16-bit weights widened per matmul).
 */
export function runPrecision(onGpu: boolean, weights: Dtype): { dtype: Dtype; computeDtype: Dtype } {
  return { dtype: weights, computeDtype: onGpu ? weights : 'fp32' };
}
