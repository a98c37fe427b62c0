// --device cuda | cpu | auto: which backend runs the decoder, and one line saying why.
//   cpu   the CPU backend (fast build: OpenBLAS when it loads)
//   cuda  the CUDA backend, or a UserError saying what is missing (library, GPU, cuBLAS)
//   auto  cuda when libbellm_cuda.so loads, a GPU is present and cuBLAS loads; else cpu, with the reason
import { UserError } from '../errors.ts';
import { CpuBackend } from './cpu/backend.ts';
import { CudaBackend, type CudaPrecision } from './cuda/backend.ts';
import { probeCuda } from './cuda/lib.ts';
import type { Backend } from './ops.ts';

export type DeviceOption = 'auto' | 'cuda' | 'cpu';
export const DEVICE_OPTIONS: readonly DeviceOption[] = ['auto', 'cuda', 'cpu'];

export interface BackendSelection {
  backend: Backend;
  device: 'cuda' | 'cpu';
  /** e.g. "cuda: NVIDIA H100 80GB HBM3, sm_90, ... (bf16 weights and activations, fp32 accumulation)"
   *  or "cpu: CUDA unavailable (native/cuda/build/libbellm_cuda.so not found: run `npm run build:cuda` ...)" */
  reason: string;
}

export interface SelectOptions {
  /** CUDA storage precision (default bf16; fp16 as BeLLM's README; fp32 to compare with the float32 goldens). */
  precision?: CudaPrecision;
  /** CUDA device index (default 0). */
  cudaDevice?: number;
  /** How to build the CPU backend (default: new CpuBackend()). */
  cpu?: () => Backend;
}

export function parseDevice(s: string): DeviceOption {
  const d = s.trim().toLowerCase();
  if ((DEVICE_OPTIONS as readonly string[]).includes(d)) return d as DeviceOption;
  throw new UserError(`--device ${s}: choose one of ${DEVICE_OPTIONS.join(', ')}`);
}

const precisionNote = (p: CudaPrecision): string =>
  p === 'fp32' ? 'fp32 weights and activations, fp32 GEMM (no TF32)' : `${p} weights and activations, fp32 accumulation`;

export function selectBackend(device: DeviceOption, opts: SelectOptions = {}): BackendSelection {
  const makeCpu = opts.cpu ?? (() => new CpuBackend());
  if (device === 'cpu') {
    const backend = makeCpu();
    return { backend, device: 'cpu', reason: `cpu: ${backend.name} (--device cpu)` };
  }
  const precision = opts.precision ?? 'bf16';
  const probe = probeCuda({ kind: 'cuda', device: opts.cudaDevice ?? 0 });
  if (probe.ok) {
    const backend = new CudaBackend({ precision, device: opts.cudaDevice ?? 0 });
    return { backend, device: 'cuda', reason: `cuda: ${probe.reason} (${precisionNote(precision)})` };
  }
  if (device === 'cuda') throw new UserError(`--device cuda: ${probe.reason}`);
  const backend = makeCpu();
  return { backend, device: 'cpu', reason: `cpu: ${backend.name}; CUDA unavailable (${probe.reason})` };
}

/**
 * One line for a CPU run without OpenBLAS (not when BELLM_CPU_BLAS=js chose that): what to install and
 * how much it gains. Measured on 2 cores, tiny model + LoRA, STS-B + SICK-R: 427 vs 2,994 sentences/s;
 * the README's first command takes 81 s instead of 13 s.
 */
export function cpuSpeedHint(backendName: string, env: NodeJS.ProcessEnv = process.env): string | null {
  if (backendName !== 'cpu (js)' || env.BELLM_CPU_BLAS === 'js') return null;
  return 'OpenBLAS not found, so matrix products run in TypeScript: install it (Debian/Ubuntu: sudo apt-get install libopenblas0-pthread) and embedding gets 5-7x faster';
}
