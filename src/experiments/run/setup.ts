// Opening a model for an experiment: weights (+ merged LoRA), tokenizer, backend, provenance.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Backend } from '../../backend/ops.ts';
import { checkCpuMemory } from '../../backend/cpu/memory.ts';
import { CpuBackend } from '../../backend/cpu/backend.ts';
import { CudaBackend, type CudaPrecision } from '../../backend/cuda/backend.ts';
import { cpuSpeedHint, parseDevice, selectBackend } from '../../backend/select.ts';
import { linearShape } from '../../model/formats/checkpoint.ts';
import { readConfig } from '../../model/formats/config.ts';
import { Embedder } from '../../model/embed/embedder.ts';
import { sha256Stream, type HashOptions } from '../../model/formats/file-hash.ts';
import { loadModel } from '../../model/formats/load.ts';
import { openAdapter } from '../../model/adapters/lora.ts';
import { cpuWeightDtype, cudaDtype, runPrecision, type Dtype, type DtypeOption } from '../../model/formats/precision.ts';
import { loadTokenizer } from '../../model/tokenize/tokenizer.ts';
import type { HubRef, LlamaConfig } from '../../model/arch/types.ts';
import { taskFiles, type TaskSpec } from '../../tasks/registry.ts';
import type { Provenance } from '../results/results.ts';
import { planGpuMemory } from './gpu-plan.ts';
import { info, notice, progressBar } from './progress.ts';

export interface OpenOptions {
  model: string;
  lora?: string | null;
  device?: string;
  quiet: boolean;
  /** Re-hash every weight, adapter and tokenizer file instead of trusting the memo (`--verify-weights`). */
  verifyWeights?: boolean;
  /** --dtype (default auto; see src/model/formats/precision.ts). */
  dtype?: DtypeOption;
  /** Hub ids the model and adapter were resolved from (src/model/hub/), recorded in provenance. */
  hub?: HubProvenance;
}

/** How model files are hashed for a run: the default memo, progress on big files, notices on stderr. */
export function hashOptions(quiet: boolean, verify = false): HashOptions & { done(): void } {
  const bar = progressBar('hashing weights', quiet, 'bytes');
  let announced = '';
  return {
    verify,
    log: notice,
    onProgress: (done, total, file) => {
      if (announced !== file) {
        announced = file;
        info(quiet, `hashing ${file} (${(total / 2 ** 30).toFixed(1)} GiB) once; the hash is remembered until the file changes`);
      }
      bar.update(done, total);
    },
    done: () => bar.stop(),
  };
}

export type HubProvenance = { model: HubRef | null; adapter: HubRef | null };

export const CPU_BATCH_TOKENS = 2048;

/** `batchTokens`: tokens per batch for this backend (CPU: 2048; CUDA: planned from free GPU memory). */
export function openEmbedder(o: OpenOptions): { embedder: Embedder; loadSeconds: number; batchTokens: number } {
  const t0 = performance.now();
  const config = readConfig(o.model);
  const dtype = o.dtype ?? 'auto';
  const device = parseDevice(o.device ?? 'auto');
  const backend = createBackend(device, o.quiet, device === 'cpu' ? undefined : cudaDtype(dtype, o.model, config));
  // Refuse early, before minutes of loading, if the weights cannot fit.
  let batchTokens = CPU_BATCH_TOKENS;
  let weightDtype: Dtype | undefined;
  if (backend instanceof CudaBackend) {
    const plan = planGpuMemory(config, backend.memoryStats().deviceFreeBytes, { bytesPerValue: backend.precision === 'fp32' ? 4 : 2 });
    info(o.quiet, plan.message);
    batchTokens = plan.batchTokens;
  } else {
    weightDtype = cpuWeightDtype(dtype, o.model, config);
    // 16-bit weights keep an adapter's LoRA pairs beside them in fp32
    const loraBytes = o.lora && weightDtype !== 'fp32' ? loraPairBytes(o.lora, config) : 0;
    checkCpuMemory(config, undefined, { weightDtype, extraBytes: loraBytes });
    info(o.quiet, `weights held as ${weightDtype} (--dtype ${dtype}), compute in fp32`);
  }
  // CUDA keeps its own copy in its precision: stream the weights so the host holds one fp32 tensor at a time.
  const hash = hashOptions(o.quiet, o.verifyWeights);
  const model = loadModel(o.model, {
    ...(o.lora ? { lora: o.lora } : {}),
    ...(backend instanceof CudaBackend ? { stream: true } : { weightDtype }),
    hash,
  });
  if (o.hub) model.hub = o.hub;
  if (model.lora) {
    info(o.quiet, `LoRA ${model.lora.dir} merged into the base weights at load time (r ${model.lora.r}, scale ${model.lora.scale}, ${model.lora.mergedTensors} tensors)`);
  }
  const tokenizer = loadTokenizer(o.model, { hash });
  hash.done();
  const embedder = new Embedder(model, tokenizer, backend);
  return { embedder, loadSeconds: (performance.now() - t0) / 1000, batchTokens };
}

/** `precision`: the CUDA backend's storage type when CUDA is picked (default bf16). */
export function createBackend(device: string, quiet: boolean, precision?: CudaPrecision): Backend {
  const sel = selectBackend(parseDevice(device), precision ? { precision } : {});
  info(quiet, `device: ${sel.reason}`);
  const hint = cpuSpeedHint(sel.backend.name);
  if (hint) info(quiet, hint);
  return sel.backend;
}

/** fp32 bytes of an adapter's LoRA pairs (A [r, in] and B [out, r] of each adapted linear). */
function loraPairBytes(dir: string, c: LlamaConfig): number {
  return openAdapter(dir, c).pairs.reduce((n, p) => {
    const [out, inn] = linearShape(c, p.proj);
    return n + 4 * p.r * (out + inn);
  }, 0);
}

/** The run's precision: weights as held (CPU) or stored (GPU), and the activations' type. */
export function precisionOf(e: Embedder): { dtype: Dtype; computeDtype: Dtype } {
  const b = e.backend;
  return b instanceof CudaBackend ? runPrecision(true, b.precision) : runPrecision(false, e.model.weightDtype ?? 'fp32');
}

/** sha256 of each task file present, by path relative to the data folder. */
export function dataChecksums(dataDir: string, tasks: readonly TaskSpec[]): Record<string, string> {
  const checksums: Record<string, string> = {};
  for (const f of taskFiles(tasks)) {
    const p = join(dataDir, f);
    if (existsSync(p)) checksums[f] = sha256Stream(p);
  }
  return checksums;
}

export function provenance(e: Embedder, dataDir: string, tasks: readonly TaskSpec[], checksums = dataChecksums(dataDir, tasks)): Provenance {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  const c = e.model.config;
  return {
    tool: { name: 'bellm-bench', version: pkg.version },
    software: {
      node: process.version, platform: `${process.platform}-${process.arch}`, backend: e.backend.name,
      ...(e.backend instanceof CpuBackend && e.backend.blas ? { blas: `${e.backend.blas.config.trim()}, ${e.backend.blas.threads()} threads` } : {}),
      batching: e.backend.batchInvariant() ? 'bit-identical whatever the batch' : 'within float32 rounding of other batches (README, "Batch invariance")',
    },
    createdAt: new Date().toISOString(),
    model: { dir: resolve(e.model.dir), fingerprint: e.model.fingerprint, files: { ...e.model.files }, config: { ...c } },
    adapter: e.model.lora ? { ...e.model.lora } : null,
    tokenizer: { description: e.tokenizer.description, fingerprint: e.tokenizer.fingerprint, files: { ...e.tokenizer.files } },
    data: { dir: resolve(dataDir), checksums },
    backend: e.backend.name,
    hub: e.model.hub ?? null,
  };
}
