// A per-op profiler for any backend: wraps it, delegates every op of the contract (ops.ts), and times
// the compute ops with performance.now().
//
//   const p = new ProfiledBackend(cuda, () => cuda.synchronize());   // CPU: new ProfiledBackend(cpu)
//   new Decoder(p, config, weights).forward(batch, opts);
//   console.log(p.table());
//
// Each timed op runs as sync, clock start, op, sync, clock stop: queued work is not charged to the op,
// and an asynchronous op (CUDA) is charged its whole run. Syncing after every op removes the overlap
// of host and device work, so the profile's total is an upper bound on an unprofiled run: use it to
// find the heavy ops, never for the headline throughput number.
//
// Rows are keyed by op, attention also by mask ('attention:causal', 'attention:bidirectional') and
// matmul also by weight shape as stored, out x in ('matmul 11008x4096' is LLaMA-7B's up_proj,
// W [11008, 4096]), so a GEMM shape that underperforms stands out. Matmul FLOPs: 2 x rows x in x out.
import type { Matrix } from './ops.ts';
import type { Act, AttentionShape, Backend, PackedBatch, Pooling, RopeFreqs, WeightHandle } from './ops.ts';

/** One row of the profile. */
export interface ProfileEntry {
  /** Row key: the op name, with the mask (attention) or weight shape out x in (matmul). */
  op: string;
  /** The contract op it belongs to ('matmul', 'attention', ...). */
  kind: string;
  calls: number;
  ms: number;
  /** ms / total timed ms of all rows (0 when nothing was timed). */
  share: number;
  /** Matmul only: floating-point operations of all its calls. */
  flops?: number;
  /** Matmul only: flops / time, when the time is > 0. */
  tflops?: number;
}

interface Acc { kind: string; calls: number; ms: number; flops: number }

export class ProfiledBackend implements Backend {
  readonly name: string;
  readonly epsilon: number;
  private readonly acc = new Map<string, Acc>();

  /** `sync` waits for the inner backend's queued work (CUDA: () => cuda.synchronize()); none for CPU. */
  constructor(readonly inner: Backend, private readonly sync?: () => void) {
    this.name = `${inner.name}+profile`;
    this.epsilon = inner.epsilon;
  }

  private time<T>(key: string, kind: string, flops: number, op: () => T): T {
    this.sync?.();
    const t0 = performance.now();
    const out = op();
    this.sync?.();
    const ms = performance.now() - t0;
    const a = this.acc.get(key) ?? { kind, calls: 0, ms: 0, flops: 0 };
    a.calls++;
    a.ms += ms;
    a.flops += flops;
    this.acc.set(key, a);
    return out;
  }

  batchInvariant(): boolean { return this.inner.batchInvariant(); }

  // ---- untimed: uploads and frees ----
  uploadMatrix(m: Matrix): WeightHandle { return this.inner.uploadMatrix(m); }
  uploadVector(v: Float32Array): WeightHandle { return this.inner.uploadVector(v); }
  free(x: Act): void { this.inner.free(x); }
  freeWeight(w: WeightHandle): void { this.inner.freeWeight(w); }

  // ---- timed: the compute ops and download ----
  embedding(table: WeightHandle, ids: Int32Array): Act {
    return this.time('embedding', 'embedding', 0, () => this.inner.embedding(table, ids));
  }
  rmsnorm(x: Act, weight: WeightHandle, eps: number): Act {
    return this.time('rmsnorm', 'rmsnorm', 0, () => this.inner.rmsnorm(x, weight, eps));
  }
  matmul(x: Act, w: WeightHandle): Act {
    const flops = 2 * x.rows * w.cols * w.rows;
    return this.time(`matmul ${w.rows}x${w.cols}`, 'matmul', flops, () => this.inner.matmul(x, w));
  }
  rope(x: Act, positions: Int32Array, nHeads: number, headDim: number, freqs: RopeFreqs): void {
    this.time('rope', 'rope', 0, () => this.inner.rope(x, positions, nHeads, headDim, freqs));
  }
  attention(q: Act, k: Act, v: Act, batch: PackedBatch, shape: AttentionShape): Act {
    return this.time(`attention:${shape.mask}`, 'attention', 0, () => this.inner.attention(q, k, v, batch, shape));
  }
  siluMul(gate: Act, up: Act): Act {
    return this.time('siluMul', 'siluMul', 0, () => this.inner.siluMul(gate, up));
  }
  geluTanhMul(gate: Act, up: Act): Act {
    return this.time('geluTanhMul', 'geluTanhMul', 0, () => this.inner.geluTanhMul(gate, up));
  }
  addBias(x: Act, b: WeightHandle): void {
    this.time('addBias', 'addBias', 0, () => this.inner.addBias(x, b));
  }
  scaleInPlace(x: Act, s: number): void {
    this.time('scaleInPlace', 'scaleInPlace', 0, () => this.inner.scaleInPlace(x, s));
  }
  addInPlace(x: Act, y: Act): void {
    this.time('addInPlace', 'addInPlace', 0, () => this.inner.addInPlace(x, y));
  }
  copy(x: Act): Act {
    return this.time('copy', 'copy', 0, () => this.inner.copy(x));
  }
  pool(x: Act, batch: PackedBatch, mode: Pooling): Act {
    return this.time('pool', 'pool', 0, () => this.inner.pool(x, batch, mode));
  }
  download(x: Act): Float32Array {
    return this.time('download', 'download', 0, () => this.inner.download(x));
  }

  // ---- the profile ----
  /** Forgets everything timed so far (e.g. after a warm-up batch). */
  reset(): void {
    this.acc.clear();
  }

  /** Total timed ms of all ops. */
  totalMs(): number {
    let t = 0;
    for (const a of this.acc.values()) t += a.ms;
    return t;
  }

  /** One row per key, heaviest first (ties by name). */
  entries(): ProfileEntry[] {
    const total = this.totalMs();
    const rows: ProfileEntry[] = [];
    for (const [op, a] of this.acc) {
      const row: ProfileEntry = { op, kind: a.kind, calls: a.calls, ms: a.ms, share: total > 0 ? a.ms / total : 0 };
      if (a.kind === 'matmul') {
        row.flops = a.flops;
        if (a.ms > 0) row.tflops = a.flops / (a.ms * 1e9);
      }
      rows.push(row);
    }
    return rows.sort((x, y) => y.ms - x.ms || (x.op < y.op ? -1 : x.op > y.op ? 1 : 0));
  }

  /** The profile as a Markdown table, heaviest first, with a total row. */
  table(): string {
    const rows = this.entries();
    const lines = [
      `| op (${this.name}) | calls | ms | share | TFLOP/s |`,
      '|---|--:|--:|--:|--:|',
      ...rows.map((r) => `| ${r.op} | ${r.calls} | ${r.ms.toFixed(3)} | ${(100 * r.share).toFixed(1)}% | ${r.tflops === undefined ? '' : r.tflops.toPrecision(3)} |`),
    ];
    const calls = rows.reduce((s, r) => s + r.calls, 0);
    const total = this.totalMs();
    lines.push(`| total | ${calls} | ${total.toFixed(3)} | ${total > 0 ? '100.0%' : '0.0%'} | |`);
    return lines.join('\n');
  }
}
