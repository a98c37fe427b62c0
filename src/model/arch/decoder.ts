// The decoder, written once against the backend op contract (src/backend/ops.ts), for every
// architecture config.ts reads (LLaMA, Mistral, Qwen-2/3, Gemma-2/3: what differs is config.arch).
// BiLLM/BeLLM ablations: layers with index >= billmStartIndex attend bidirectionally.
//
// Sliding windows in bidirectional layers follow Gemma-3's own code (transformers 5.18,
// models/gemma3: configuration_gemma3.py sets sliding_window = W // 2 + 1 under
// use_bidirectional_attention, and modeling_gemma3.py's _bidirectional_window_overlay lets a token see
// keys with |i - j| < that): a bidirectional sliding layer sees |i - j| <= W // 2, a window of about
// the same total width as the causal one. The same rule serves Gemma-2, Mistral and Qwen, whose code
// has no bidirectional mode. A causal sliding layer sees 0 <= i - j < W, as transformers' sliding
// window causal mask does.
import type { Act, Backend, MaskMode, PackedBatch, Pooling, RopeFreqs, WeightHandle } from '../../backend/ops.ts';
import { withScope } from '../../backend/scope.ts';
import { ropeFreqs } from './rope.ts';
import type { LayerType, LlamaConfig, ModelWeights } from './types.ts';

interface LayerHandles {
  ln1: WeightHandle; q: WeightHandle; k: WeightHandle; v: WeightHandle; o: WeightHandle;
  ln2: WeightHandle; gate: WeightHandle; up: WeightHandle; down: WeightHandle;
  qBias?: WeightHandle; kBias?: WeightHandle; vBias?: WeightHandle; oBias?: WeightHandle;
  qNorm?: WeightHandle; kNorm?: WeightHandle;
  /** Gemma: the pre-MLP norm (ln2 then normalizes the attention output) and the MLP output's norm. */
  preFf?: WeightHandle; postFf?: WeightHandle;
}

/** The window width a layer's attention uses (AttentionShape.window): see the header. */
export function windowFor(layerType: LayerType, slidingWindow: number | null, mask: MaskMode): number | null {
  if (layerType !== 'sliding_attention' || slidingWindow === null) return null;
  return mask === 'causal' ? slidingWindow : Math.floor(slidingWindow / 2) + 1;
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
  private readonly rope: Record<LayerType, RopeFreqs>;

  constructor(readonly backend: Backend, readonly config: LlamaConfig, weights: ModelWeights) {
    const opt = (v: Float32Array | undefined) => (v ? backend.uploadVector(v) : undefined);
    this.embed = backend.uploadMatrix(weights.embed_tokens);
    this.norm = backend.uploadVector(weights.norm);
    this.layers = weights.layers.map((w) => ({
      ln1: backend.uploadVector(w.input_layernorm),
      q: backend.uploadMatrix(w.q_proj), k: backend.uploadMatrix(w.k_proj),
      v: backend.uploadMatrix(w.v_proj), o: backend.uploadMatrix(w.o_proj),
      ln2: backend.uploadVector(w.post_attention_layernorm),
      gate: backend.uploadMatrix(w.gate_proj), up: backend.uploadMatrix(w.up_proj),
      down: backend.uploadMatrix(w.down_proj),
      qBias: opt(w.q_bias), kBias: opt(w.k_bias), vBias: opt(w.v_bias), oBias: opt(w.o_bias),
      qNorm: opt(w.q_norm), kNorm: opt(w.k_norm),
      preFf: opt(w.pre_feedforward_layernorm), postFf: opt(w.post_feedforward_layernorm),
    }));
    for (const [i, l] of this.layers.entries()) {
      const a = config.arch;
      const missing = (a.qkv_bias && !(l.qBias && l.kBias && l.vBias)) || (a.o_bias && !l.oBias) || (a.qk_norm && !(l.qNorm && l.kNorm)) ||
        (a.sandwich_norms && !(l.preFf && l.postFf));
      if (missing) throw new Error(`decoder: layer ${i} lacks weights that config.arch needs (biases or norms)`);
    }
    this.rope = { full_attention: ropeFreqs(config, 'full_attention'), sliding_attention: ropeFreqs(config, 'sliding_attention') };
    this.numLayers = this.layers.length;
  }

  /** Frees the uploaded weights (GPU memory), so a process can open the next model; the decoder is unusable after. */
  dispose(): void {
    for (const w of [this.embed, this.norm, ...this.layers.flatMap((l) => Object.values(l).filter((x) => x !== undefined) as WeightHandle[])]) this.backend.freeWeight(w);
    this.layers.length = 0;
  }

  /** Token embeddings: the residual stream before layer 0, [N, H]. */
  embedTokens(batch: PackedBatch): Act {
    const h = this.backend.embedding(this.embed, batch.ids);
    if (this.config.arch.embed_scale !== null) this.backend.scaleInPlace(h, this.config.arch.embed_scale);
    return h;
  }

  /** Runs decoder layer `l` on the residual stream `h` in place. Intermediates are freed even when an op throws. */
  layer(h: Act, l: number, batch: PackedBatch, mask: MaskMode): void {
    const b = this.backend;
    const c = this.config;
    const a = c.arch;
    const w = this.layers[l];
    const type = a.layer_types[l];
    withScope(b, (s) => {
      const x = s.add(b.rmsnorm(h, w.ln1, c.rms_norm_eps));
      let q = s.add(b.matmul(x, w.q));
      let k = s.add(b.matmul(x, w.k));
      const v = s.add(b.matmul(x, w.v));
      s.free(x);
      if (w.qBias) { b.addBias(q, w.qBias); b.addBias(k, w.kBias!); b.addBias(v, w.vBias!); }
      if (w.qNorm) {
        // per-head RMSNorm before RoPE (Qwen-3, Gemma-3): groups of head_dim
        const qn = s.add(b.rmsnorm(q, w.qNorm, c.rms_norm_eps));
        s.free(q);
        q = qn;
        const kn = s.add(b.rmsnorm(k, w.kNorm!, c.rms_norm_eps));
        s.free(k);
        k = kn;
      }
      b.rope(q, batch.positions, c.num_attention_heads, c.head_dim, this.rope[type]);
      b.rope(k, batch.positions, c.num_key_value_heads, c.head_dim, this.rope[type]);
      const att = s.add(b.attention(q, k, v, batch, {
        nHeads: c.num_attention_heads, nKvHeads: c.num_key_value_heads, headDim: c.head_dim, mask,
        scale: a.attn_scale, softcap: a.attn_softcap, window: windowFor(type, a.sliding_window, mask),
      }));
      s.free(q); s.free(k); s.free(v);
      let o = s.add(b.matmul(att, w.o));
      s.free(att);
      if (w.oBias) b.addBias(o, w.oBias);
      if (a.sandwich_norms) {
        const on = s.add(b.rmsnorm(o, w.ln2, c.rms_norm_eps));
        s.free(o);
        o = on;
      }
      b.addInPlace(h, o);
      s.free(o);
      const x2 = s.add(b.rmsnorm(h, a.sandwich_norms ? w.preFf! : w.ln2, c.rms_norm_eps));
      const g = s.add(b.matmul(x2, w.gate));
      const u = s.add(b.matmul(x2, w.up));
      s.free(x2);
      const m = s.add(a.act === 'gelu_tanh' ? b.geluTanhMul(g, u) : b.siluMul(g, u));
      s.free(g); s.free(u);
      let dn = s.add(b.matmul(m, w.down));
      s.free(m);
      if (a.sandwich_norms) {
        const dnn = s.add(b.rmsnorm(dn, w.postFf!, c.rms_norm_eps));
        s.free(dn);
        dn = dnn;
      }
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
