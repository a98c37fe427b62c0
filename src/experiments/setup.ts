// Opening a model for an experiment: weights (+ merged LoRA), tokenizer, backend, provenance.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Backend } from '../backend/ops.ts';
import { checkCpuMemory } from '../backend/cpu/memory.ts';
import { CudaBackend } from '../backend/cuda/backend.ts';
import { cpuSpeedHint, parseDevice, selectBackend } from '../backend/select.ts';
import { readConfig } from '../model/config.ts';
import { Embedder } from '../model/embedder.ts';
import type { HashOptions } from '../model/file-hash.ts';
import { loadModel } from '../model/load.ts';
import { loadTokenizer } from '../model/tokenizer.ts';
import { taskFiles, type TaskSpec } from '../tasks/registry.ts';
import type { Provenance } from './results.ts';
import { planGpuMemory } from './gpu-plan.ts';
import { info, notice, progressBar } from './progress.ts';

export interface OpenOptions {
  model: string;
  lora?: string | null;
  device?: string;
  quiet: boolean;
  /** Re-hash every weight, adapter and tokenizer file instead of trusting the memo (`--verify-weights`). */
  verifyWeights?: boolean;
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

export const CPU_BATCH_TOKENS = 2048;

/** `batchTokens`: tokens per batch for this backend (CPU: 2048; CUDA: planned from free GPU memory). */
export function openEmbedder(o: OpenOptions): { embedder: Embedder; loadSeconds: number; batchTokens: number } {
  const t0 = performance.now();
  const backend = createBackend(o.device ?? 'auto', o.quiet);
  // Refuse early, before minutes of loading, if the weights cannot fit (the CPU backend holds fp32).
  let batchTokens = CPU_BATCH_TOKENS;
  if (backend instanceof CudaBackend) {
    const plan = planGpuMemory(readConfig(o.model), backend.memoryStats().deviceFreeBytes);
    info(o.quiet, plan.message);
    batchTokens = plan.batchTokens;
  } else {
    checkCpuMemory(readConfig(o.model));
  }
  // CUDA keeps its own bf16 copy: stream the weights so the host holds one fp32 tensor at a time.
  const hash = hashOptions(o.quiet, o.verifyWeights);
  const model = loadModel(o.model, { ...(o.lora ? { lora: o.lora } : {}), stream: backend instanceof CudaBackend, hash });
  if (model.lora) {
    info(o.quiet, `LoRA ${model.lora.dir} merged into the base weights at load time (r ${model.lora.r}, scale ${model.lora.scale}, ${model.lora.mergedTensors} tensors)`);
  }
  const tokenizer = loadTokenizer(o.model, { hash });
  hash.done();
  const embedder = new Embedder(model, tokenizer, backend);
  return { embedder, loadSeconds: (performance.now() - t0) / 1000, batchTokens };
}

export function createBackend(device: string, quiet: boolean): Backend {
  const sel = selectBackend(parseDevice(device));
  info(quiet, `device: ${sel.reason}`);
  const hint = cpuSpeedHint(sel.backend.name);
  if (hint) info(quiet, hint);
  return sel.backend;
}

function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** sha256 of each task file present, by path relative to the data folder. */
export function dataChecksums(dataDir: string, tasks: readonly TaskSpec[]): Record<string, string> {
  const checksums: Record<string, string> = {};
  for (const f of taskFiles(tasks)) {
    const p = join(dataDir, f);
    if (existsSync(p)) checksums[f] = sha256File(p);
  }
  return checksums;
}

export function provenance(e: Embedder, dataDir: string, tasks: readonly TaskSpec[], checksums = dataChecksums(dataDir, tasks)): Provenance {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  const c = e.model.config;
  return {
    tool: { name: 'bellm-bench', version: pkg.version },
    software: { node: process.version, platform: `${process.platform}-${process.arch}`, backend: e.backend.name },
    createdAt: new Date().toISOString(),
    model: { dir: resolve(e.model.dir), fingerprint: e.model.fingerprint, files: { ...e.model.files }, config: { ...c } },
    adapter: e.model.lora ? { ...e.model.lora } : null,
    tokenizer: { description: e.tokenizer.description, fingerprint: e.tokenizer.fingerprint, files: { ...e.tokenizer.files } },
    data: { dir: resolve(dataDir), checksums },
    backend: e.backend.name,
  };
}
