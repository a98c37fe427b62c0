// A helper thread for the CPU backend's non-matmul ops. OpenBLAS spreads every matmul over all cores,
// but SwiGLU, RMSNorm, RoPE and attention run in JavaScript on the main thread while the other cores
// wait. With a helper, each of those ops is cut in two (rows, elements or sequences), the helper does
// one part while the main thread does the other, and the op returns when both are done.
//
// Shared memory: activations live in SharedArrayBuffers (the backend's BufferPool allocates them so
// when a helper is on), so a job message carries views, not copies; small inputs (a norm weight,
// positions, the batch layout) are copied with the message. Handshake: the job goes through a
// MessagePort, then ctl[JOB] is bumped and notified; the helper, blocked in Atomics.wait, takes the
// message with receiveMessageOnPort, runs it, and publishes ctl[DONE]. A job costs ~15 us of
// hand-off, so only ops above MIN_PARALLEL_WORK are split.
//
// The helper runs the same kernels (fast.ts) through runJob, which the main thread also uses for its
// part, so the split changes no arithmetic: results are bit-identical with and without the helper.
// It starts in the background; until it is ready (a few hundred ms: tsx and koffi load in it), ops
// run on the main thread alone. BELLM_CPU_THREADS=1 (or `new CpuBackend({ helper: false })`) turns it off.
import os from 'node:os';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import type { MaskMode, PackedBatch } from '../ops.ts';
import { loadOpenBlas, type OpenBlas } from './blas.ts';
import { attentionRange, AttentionScratch, RopeTable, rmsnormFast, ropeFast, siluMulFast } from './fast.ts';

/** One part of an op. Float32Array fields are views into SharedArrayBuffers, written in place. */
export type HelperJob =
  | { op: 'silu'; gate: Float32Array; up: Float32Array; out: Float32Array }
  | { op: 'rmsnorm'; x: Float32Array; w: Float32Array; out: Float32Array; N: number; H: number; eps: number }
  | { op: 'rope'; x: Float32Array; positions: Int32Array; nHeads: number; headDim: number; theta: number }
  | {
    op: 'attention'; q: Float32Array; k: Float32Array; v: Float32Array; out: Float32Array; batch: PackedBatch;
    nH: number; nKV: number; D: number; mask: MaskMode; gemmMinLen: number; useSimd: boolean; seqFrom: number; seqTo: number;
  };

/** Per-thread state a job may need. */
export interface JobContext {
  blas: OpenBlas | null;
  scratch: AttentionScratch;
  ropeTables: Map<string, RopeTable>;
}

export function ropeTable(ctx: JobContext, headDim: number, theta: number): RopeTable {
  const key = `${headDim}:${theta}`;
  let t = ctx.ropeTables.get(key);
  if (!t) ctx.ropeTables.set(key, (t = new RopeTable(headDim, theta)));
  return t;
}

/** Runs one part of an op with the fast kernels. Attention leaves OpenBLAS's thread count to the caller. */
export function runJob(j: HelperJob, ctx: JobContext): void {
  switch (j.op) {
    case 'silu': return siluMulFast(j.gate, j.up, j.out);
    case 'rmsnorm': return rmsnormFast(j.x, j.w, j.N, j.H, j.eps, j.out);
    case 'rope': return ropeFast(j.x, j.positions, j.nHeads, ropeTable(ctx, j.headDim, j.theta));
    case 'attention':
      return attentionRange(j.q, j.k, j.v, j.batch, j.nH, j.nKV, j.D, j.mask, j.out, ctx.blas, ctx.scratch, j.gemmMinLen, j.useSimd, j.seqFrom, j.seqTo);
  }
}

/** Ops smaller than this many elements are not split (the hand-off would cost more than it saves). */
export const MIN_PARALLEL_WORK = 32768;

// ctl layout (Int32Array on a SharedArrayBuffer)
const JOB = 0;    // sequence number of the last job posted; STOP to end
const DONE = 1;   // sequence number of the last job finished
const STATUS = 2; // 0 ok, 1 the last job threw (its message follows on the port)
const READY = 3;  // 0 starting, 1 ready, -1 failed to start
const STOP = -1;
const WAIT_LIMIT_MS = 600_000;

/** The helper's side: loops until STOP. Exported for the worker bootstrap only. */
export function helperMain(port: MessagePort, ctl: Int32Array): void {
  const ctx: JobContext = { blas: loadOpenBlas(), scratch: new AttentionScratch(), ropeTables: new Map() };
  Atomics.store(ctl, READY, 1);
  let seen = 0;
  for (;;) {
    Atomics.wait(ctl, JOB, seen);
    const job = Atomics.load(ctl, JOB);
    if (job === STOP) return;
    if (job === seen) continue;
    let msg = receiveMessageOnPort(port);
    while (!msg) { // posted before JOB was bumped, so it is on its way
      Atomics.wait(ctl, JOB, job, 1);
      msg = receiveMessageOnPort(port);
    }
    try {
      runJob(msg.message as HelperJob, ctx);
      Atomics.store(ctl, STATUS, 0);
    } catch (e) {
      Atomics.store(ctl, STATUS, 1);
      port.postMessage({ error: (e as Error).stack ?? String(e) });
    }
    seen = job;
    Atomics.store(ctl, DONE, job);
    Atomics.notify(ctl, DONE);
  }
}

// Plain CommonJS run by the worker: load tsx when this file is TypeScript, then this module.
const BOOTSTRAP = `
const { workerData } = require('node:worker_threads');
const { ctl, port, tsx, entry } = workerData;
(async () => {
  try {
    if (tsx) (await import(tsx)).register();
    (await import(entry)).helperMain(port, ctl);
  } catch (e) {
    Atomics.store(ctl, ${READY}, -1);
    Atomics.notify(ctl, ${DONE});
    port.postMessage({ error: 'CPU helper thread failed to start: ' + ((e && e.stack) || e) });
  }
})();
`;

export class CpuHelper {
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly ctl = new Int32Array(new SharedArrayBuffer(16));
  private seq = 0;
  private pending = false;
  /** Why the helper is not running, once it failed. */
  failure: string | null = null;

  private constructor() {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    const ts = import.meta.url.endsWith('.ts');
    let tsx: string | null = null;
    if (ts) tsx = import.meta.resolve('tsx/esm/api');
    this.worker = new Worker(BOOTSTRAP, {
      eval: true, execArgv: [], name: 'bellm-cpu-helper',
      workerData: { ctl: this.ctl, port: port2, tsx, entry: import.meta.url },
      transferList: [port2],
    });
    this.worker.unref();
    this.worker.on('error', (e) => { this.failure ??= `CPU helper thread died: ${e.message}`; Atomics.store(this.ctl, READY, -1); });
  }

  /**
   * The process's helper (one for every CpuBackend: ops run one at a time), started on first call;
   * null on a single core, with BELLM_CPU_THREADS=1, or when it cannot start.
   */
  static shared(): CpuHelper | null {
    if (os.availableParallelism() < 2 || process.env.BELLM_CPU_THREADS === '1') return null;
    if (instance === undefined) {
      try {
        instance = new CpuHelper();
      } catch {
        instance = null;
      }
    }
    return instance;
  }

  /** True once the helper has started and nothing has failed. */
  get ready(): boolean {
    const r = Atomics.load(this.ctl, READY);
    if (r === -1 && !this.failure) this.failure = this.drainError() ?? 'CPU helper thread failed to start';
    return r === 1 && this.failure === null;
  }

  /** Hands a job to the helper; call finish() before touching its outputs. */
  start(job: HelperJob): void {
    if (this.pending) throw new Error('CPU helper: a job is already running');
    this.pending = true;
    this.port.postMessage(job);
    this.seq = this.seq === 0x7ffffffe ? 1 : this.seq + 1;
    Atomics.store(this.ctl, JOB, this.seq);
    Atomics.notify(this.ctl, JOB);
  }

  /** Waits for the job; rethrows the helper's error, if any. */
  finish(): void {
    if (!this.pending) return;
    this.pending = false;
    const t0 = Date.now();
    while (Atomics.load(this.ctl, DONE) !== this.seq) {
      if (Atomics.load(this.ctl, READY) === -1) throw new Error(this.failure ?? this.drainError() ?? 'CPU helper thread stopped');
      if (Date.now() - t0 > WAIT_LIMIT_MS) throw new Error(`CPU helper thread did not finish a job in ${WAIT_LIMIT_MS / 1000} s`);
      Atomics.wait(this.ctl, DONE, Atomics.load(this.ctl, DONE), 100);
    }
    if (Atomics.load(this.ctl, STATUS) !== 0) throw new Error(`CPU helper thread: ${this.drainError() ?? 'a job failed'}`);
  }

  private drainError(): string | null {
    let m = receiveMessageOnPort(this.port);
    let last: string | null = null;
    while (m) {
      last = (m.message as { error?: string }).error ?? last;
      m = receiveMessageOnPort(this.port);
    }
    return last;
  }

  /** Stops the thread (it also ends with the process). */
  close(): Promise<number> {
    Atomics.store(this.ctl, JOB, STOP);
    Atomics.notify(this.ctl, JOB);
    return this.worker.terminate();
  }
}

let instance: CpuHelper | null | undefined;

/** Stops the shared helper thread; a later CpuBackend starts a new one. */
export async function stopCpuHelper(): Promise<void> {
  const h = instance;
  instance = undefined;
  await h?.close();
}

/** True when every array is a view into a SharedArrayBuffer (so the helper sees the same memory). */
export function allShared(...arrays: ArrayBufferView[]): boolean {
  return arrays.every((a) => a.buffer instanceof SharedArrayBuffer);
}
