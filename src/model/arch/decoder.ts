// The LLaMA decoder, written once against the backend op contract (src/backend/ops.ts).
// BiLLM/BeLLM ablations: layers with index >= billmStartIndex attend bidirectionally.
import type { Act, Backend, MaskMode, PackedBatch, Pooling, WeightHandle } from '../../backend/ops.ts';
import { withScope } from '../../backend/scope.ts';
import type { LlamaConfig, ModelWeights } from './types.ts';

interface LayerHandles {
  ln1: WeightHandle; q: WeightHandle; k: WeightHandle; v: WeightHandle; o: WeightHandle;
  ln2: WeightHandle; gate: WeightHandle; up: WeightHandle; down: WeightHandle;
}

export interface ForwardOptions {
  /** Layers with index >= k are bidirectional; null (or k >= L) = all causal. */
  billmStartIndex: number | null;
  /** Run only the first n layers, then the final norm; null = all. */
  nLayers?: number | null;
  poolings: readonly Pooling[];
}

export type Pooled = Partial<Record<Pooling, Float32Array>>; // each [B * H], row per sequence

export function maskForLayer(layer: number, billmStartIndex: number | null): MaskMode {
  return billmStartIndex !== null && layer >= billmStartIndex ? 'bidirectional' : 'causal';
}

export class Decoder {
  readonly numLayers: number;
  private readonly embed: WeightHandle;
  private readonly norm: WeightHandle;
  private readonly layers: LayerHandles[];

  constructor(readonly backend: Backend, readonly config: LlamaConfig, weights: ModelWeights) {
    this.embed = backend.uploadMatrix(weights.embed_tokens);
    this.norm = backend.uploadVector(weights.norm);
    this.layers = weights.layers.map((w) => ({
      ln1: backend.uploadVector(w.input_layernorm),
      q: backend.uploadMatrix(w.q_proj), k: backend.uploadMatrix(w.k_proj),
      v: backend.uploadMatrix(w.v_proj), o: backend.uploadMatrix(w.o_proj),
      ln2: backend.uploadVector(w.post_attention_layernorm),
      gate: backend.uploadMatrix(w.gate_proj), up: backend.uploadMatrix(w.up_proj),
      down: backend.uploadMatrix(w.down_proj),
    }));
    this.numLayers = this.layers.length;
  }

  /** Frees the uploaded weights (GPU memory), so a process can open the next model; the decoder is unusable after. */
  dispose(): void {
    for (const w of [this.embed, this.norm, ...this.layers.flatMap((l) => Object.values(l) as WeightHandle[])]) this.backend.freeWeight(w);
    this.layers.length = 0;
  }

  /** Token embeddings: the residual stream before layer 0, [N, H]. */
  embedTokens(batch: PackedBatch): Act {
    return this.backend.embedding(this.embed, batch.ids);
  }

  /** Runs decoder layer `l` on the residual stream `h` in place. Intermediates are freed even when an op throws. */
  layer(h: Act, l: number, batch: PackedBatch, mask: MaskMode): void {
    const b = this.backend;
    const c = this.config;
    const w = this.layers[l];
    withScope(b, (s) => {
      const x = s.add(b.rmsnorm(h, w.ln1, c.rms_norm_eps));
      const q = s.add(b.matmul(x, w.q));
      const k = s.add(b.matmul(x, w.k));
      const v = s.add(b.matmul(x, w.v));
      s.free(x);
      b.rope(q, batch.positions, c.num_attention_heads, c.head_dim, c.rope_theta);
      b.rope(k, batch.positions, c.num_key_value_heads, c.head_dim, c.rope_theta);
      const a = s.add(b.attention(q, k, v, batch, {
        nHeads: c.num_attention_heads, nKvHeads: c.num_key_value_heads, headDim: c.head_dim, mask,
      }));
      s.free(q); s.free(k); s.free(v);
      const o = s.add(b.matmul(a, w.o));
      s.free(a);
      b.addInPlace(h, o);
      s.free(o);
      const x2 = s.add(b.rmsnorm(h, w.ln2, c.rms_norm_eps));
      const g = s.add(b.matmul(x2, w.gate));
      const u = s.add(b.matmul(x2, w.up));
      s.free(x2);
      const m = s.add(b.siluMul(g, u));
      s.free(g); s.free(u);
      const dn = s.add(b.matmul(m, w.down));
      s.free(m);
      b.addInPlace(h, dn);
      s.free(dn);
    });
  }

  /** Final RMSNorm of the residual stream (a new tensor). */
  finalNorm(h: Act): Act {
    return this.backend.rmsnorm(h, this.norm, this.config.rms_norm_eps);
  }

  /** Final norm then each requested pooling, downloaded: one [B * H] array per pooling. */
  pool(h: Act, batch: PackedBatch, poolings: readonly Pooling[]): Pooled {
    const b = this.backend;
    return withScope(b, (s) => {
      const f = s.add(this.finalNorm(h));
      const out: Pooled = {};
      for (const p of poolings) {
        const pooled = s.add(b.pool(f, batch, p));
        out[p] = b.download(pooled).slice();
        s.free(pooled);
      }
      return out;
    });
  }

  resolveLayers(nLayers: number | null | undefined): number {
    const n = nLayers ?? this.numLayers;
    if (!Number.isInteger(n) || n < 1 || n > this.numLayers) {
      throw new Error(`nLayers must be an integer in 1..${this.numLayers}, got ${n}`);
    }
    return n;
  }

  /** Runs layers [from, to) on h in place. */
  runLayers(h: Act, batch: PackedBatch, from: number, to: number, billmStartIndex: number | null): void {
    for (let l = from; l < to; l++) this.layer(h, l, batch, maskForLayer(l, billmStartIndex));
  }

  forward(batch: PackedBatch, opts: ForwardOptions): Pooled {
    const n = this.resolveLayers(opts.nLayers);
    return withScope(this.backend, (s) => {
      const h = s.add(this.embedTokens(batch));
      this.runLayers(h, batch, 0, n, opts.billmStartIndex);
      return this.pool(h, batch, opts.poolings);
    });
  }

  /**
   * Per-token hidden states of one layer, downloaded: layer 0 = token embeddings, l = residual after
   * layer l, 'final' = after the final norm (of all n layers). Only that one layer is kept.
   */
  hiddenStates(batch: PackedBatch, opts: Omit<ForwardOptions, 'poolings'> & { layer: number | 'final' }): Float32Array {
    const n = this.resolveLayers(opts.nLayers);
    const stop = opts.layer === 'final' ? n : opts.layer;
    if (!Number.isInteger(stop) || stop < 0 || stop > n) throw new Error(`layer must be in 0..${n} or 'final', got ${opts.layer}`);
    return withScope(this.backend, (s) => {
      const h = s.add(this.embedTokens(batch));
      this.runLayers(h, batch, 0, stop, opts.billmStartIndex);
      const last = opts.layer === 'final' ? s.add(this.finalNorm(h)) : h;
      return this.backend.download(last).slice();
    });
  }
}
