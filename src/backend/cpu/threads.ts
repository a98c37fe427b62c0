// A helper thread for the CPU backend's non-matmul ops. OpenBLAS spreads every matmul over all cores,
// but SwiGLU, RMSNorm, RoPE and attention run in JavaScript on the main thread while the other cores
// wait. With a helper, each of those ops is cut in two (rows, elements or sequences), the helper does
// one part while the main thread does the other, and the op returns when both are done.
//
// Shared memory: activations live in SharedArrayBuffers (the backend's BufferPool allocates them so
// when a helper is on), so a job message carries views, not copies; small inputs (a norm weight,
// positions, the batch layout) are copied with the message. Handshake: the job goes through a
// MessagePort, then ctl[JOB] is bumped and notified; the helper, blocked in Atomics.wait, takes the
// message with receiveMessageOnPort and claims the job (compare-and-swap on ctl[CLAIM]), runs it
// and publishes ctl[DONE]. When the main thread is done with its own part and the helper has not
// claimed the job yet (it has not been scheduled: another process holds the core), the main thread
// claims it and runs it itself, so a busy machine costs the split nothing. A hand-off costs ~15 us,
// so only ops above MIN_PARALLEL_WORK are split.
//
// The helper runs the same kernels (fast.ts) through runJob, which the main thread also uses for its
// part, so the split changes no arithmetic: results are bit-identical with and without the helper.
// It starts in the background; until it is ready (a few hundred ms: tsx and koffi load in it), ops
// run on the main thread alone. The backend uses it only when asked: `new CpuBackend({ helper: true })`
// or BELLM_CPU_THREADS=2; BELLM_CPU_THREADS=1 keeps it off even then.
//
// Never fork while the helper runs OpenBLAS: OpenBLAS's pthread_atfork handler stops its worker
// threads, and a fork from one thread while another is inside sgemm hangs (the main thread spins
// waiting for a worker that is gone). The helper therefore gets the library path from the main
// thread instead of searching (the search may run ldconfig), and the main thread, which could fork,
// is always blocked in split() while the helper computes.
import os from 'node:os';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import type { MaskMode, PackedBatch, RopeFreqs } from '../ops.ts';
import type { AttentionExtras } from './kernels.ts';
import { loadOpenBlas, type OpenBlas } from './blas.ts';
import { attentionRange, AttentionScratch, RopeTable, rmsnormFast, ropeFast, siluMulFast } from './fast.ts';

/** One part of an op. Float32Array fields are views into SharedArrayBuffers, written in place. */
export type HelperJob =
  | { op: 'silu'; gate: Float32Array; up: Float32Array; out: Float32Array }
  | { op: 'rmsnorm'; x: Float32Array; w: Float32Array; out: Float32Array; N: number; H: number; eps: number }
  | { op: 'rope'; x: Float32Array; positions: Int32Array; nHeads: number; headDim: number; freqs: RopeFreqs }
  | {
    op: 'attention'; q: Float32Array; k: Float32Array; v: Float32Array; out: Float32Array; batch: PackedBatch;
    nH: number; nKV: number; D: number; mask: MaskMode; gemmMinLen: number; useSimd: boolean; seqFrom: number; seqTo: number;
    useBlas: boolean; // false when the backend runs without OpenBLAS: both halves take the same path
    extras: AttentionExtras;
  };

/** Per-thread state a job may need. */
export interface JobContext {
  blas: OpenBlas | null;
  scratch: AttentionScratch;
  ropeTables: Map<string, RopeTable>;
}

export function ropeTable(ctx: JobContext, headDim: number, freqs: RopeFreqs): RopeTable {
  const key = `${headDim}:${freqs.key}`;
  let t = ctx.ropeTables.get(key);
  if (!t) ctx.ropeTables.set(key, (t = new RopeTable(headDim, freqs.invFreq)));
  return t;
}

/** Runs one part of an op with the fast kernels. Attention leaves OpenBLAS's thread count to the caller. */
export function runJob(j: HelperJob, ctx: JobContext): void {
  switch (j.op) {
    case 'silu': return siluMulFast(j.gate, j.up, j.out);
    case 'rmsnorm': return rmsnormFast(j.x, j.w, j.N, j.H, j.eps, j.out);
    case 'rope': return ropeFast(j.x, j.positions, j.nHeads, ropeTable(ctx, j.headDim, j.freqs));
    case 'attention':
      return attentionRange(j.q, j.k, j.v, j.batch, j.nH, j.nKV, j.D, j.mask, j.out, j.useBlas ? ctx.blas : null, ctx.scratch,
        j.gemmMinLen, j.useSimd, j.seqFrom, j.seqTo, j.extras);
  }
}

/** Ops smaller than this many elements are not split (the hand-off would cost more than it saves). */
export const MIN_PARALLEL_WORK = 32768;

// ctl layout (Int32Array on a SharedArrayBuffer)
const JOB = 0;    // id of the last job posted (1, 2, ...); STOP to end
const DONE = 1;   // id of the last job the helper finished
const STATUS = 2; // 0 ok, 1 the last job threw (its message follows on the port)
const READY = 3;  // 0 starting, 1 ready, -1 failed to start
const CLAIM = 4;  // id of the posted job while nobody has taken it; -id once the helper has, 0 once main has
const STOP = -1;
const WAIT_LIMIT_MS = 600_000;

/** The helper's side: loops until STOP. Exported for the worker bootstrap only. */
export function helperMain(port: MessagePort, ctl: Int32Array, blasPath: string | null): void {
  // The main thread's library, by path: no search here (it may fork ldconfig; see loadOpenBlas).
  const ctx: JobContext = { blas: blasPath ? loadOpenBlas(blasPath) : null, scratch: new AttentionScratch(), ropeTables: new Map() };
  Atomics.store(ctl, READY, 1);
  let seen = 0;
  for (;;) {
    Atomics.wait(ctl, JOB, seen);
    const job = Atomics.load(ctl, JOB);
    if (job === STOP) return;
    if (job === seen) continue;
    seen = job;
    // Messages of jobs the main thread took over are still queued: skip to this job's.
    let msg: { id: number; job: HelperJob } | undefined;
    while (!msg || msg.id !== job) {
      const m = receiveMessageOnPort(port);
      if (m) msg = m.message as { id: number; job: HelperJob };
      else Atomics.wait(ctl, JOB, job, 1); // posted before JOB was bumped, so it is on its way
      if (Atomics.load(ctl, JOB) !== job) break; // a newer job already: this one was taken over
    }
    if (!msg || msg.id !== job || Atomics.compareExchange(ctl, CLAIM, job, -job) !== job) continue;
    try {
      runJob(msg.job, ctx);
      Atomics.store(ctl, STATUS, 0);
    } catch (e) {
      Atomics.store(ctl, STATUS, 1);
      port.postMessage({ error: (e as Error).stack ?? String(e) });
    }
    Atomics.store(ctl, DONE, job);
    Atomics.notify(ctl, DONE);
  }
}

// Plain CommonJS run by the worker: load tsx when this file is TypeScript, then this module.
const BOOTSTRAP = `
const { workerData } = require('node:worker_threads');
const { ctl, port, tsx, entry, blasPath } = workerData;
(async () => {
  try {
    if (tsx) (await import(tsx)).register();
    (await import(entry)).helperMain(port, ctl, blasPath);
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
  private readonly ctl = new Int32Array(new SharedArrayBuffer(32));
  private seq = 0;
  private pending: HelperJob | null = null;
  /** Jobs the helper ran, and jobs the main thread took back because the helper had not started them. */
  readonly stats = { helper: 0, mainThread: 0 };
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
      workerData: { ctl: this.ctl, port: port2, tsx, entry: import.meta.url, blasPath: loadOpenBlas()?.path ?? null },
      transferList: [port2],
    });
    this.worker.unref();
    this.worker.on('error', (e) => { this.failure ??= `CPU helper thread died: ${e.message}`; Atomics.store(this.ctl, READY, -1); });
  }

  /**
   * The process's helper (one for every CpuBackend that asks: ops run one at a time), started on
   * first call; null on a single core, with BELLM_CPU_THREADS=1, or when it cannot start.
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
    this.pending = job;
    this.seq = this.seq === 0x7ffffffe ? 1 : this.seq + 1;
    Atomics.store(this.ctl, CLAIM, this.seq);
    this.port.postMessage({ id: this.seq, job });
    Atomics.store(this.ctl, JOB, this.seq);
    Atomics.notify(this.ctl, JOB);
  }

  /**
   * Completes the job: runs it here when the helper has not taken it yet, else waits for the
   * helper; rethrows the helper's error, if any.
   */
  finish(ctx: JobContext): void {
    const job = this.pending;
    if (!job) return;
    this.pending = null;
    if (Atomics.compareExchange(this.ctl, CLAIM, this.seq, 0) === this.seq) {
      this.stats.mainThread++;
      runJob(job, ctx);
      return;
    }
    this.stats.helper++;
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
