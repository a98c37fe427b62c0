// GPU throughput: our CUDA backend against PyTorch + transformers (reference.py) on one machine, on a
// LLaMA-2-7B-shaped model with random bf16 weights, over every sentence of the 7 STS tasks in the
// BeLLM prompt. Two batchings, the same for both sides (batches are computed here and handed over):
//   dataset16  batches of 16 sentences in dataset order (SentEval's order: STS12..SICK-R)
//   sorted512  batches of 512 sentences sorted by token length (longest first)
// We pack each batch without padding (varlen); PyTorch right-pads it (its usual path). Useful FLOPs
// count real tokens only (benchmarks/cpu-throughput/workload.ts usefulFlops), so padding is PyTorch's
// cost, not a credit.
//
//   node --import=tsx benchmarks/sts-throughput/bench.ts                  # ours, then reference.py
//   node --import=tsx benchmarks/sts-throughput/bench.ts --no-torch       # ours only
//   node --import=tsx benchmarks/sts-throughput/bench.ts --layers 4 --limit 2000   # quick look
//   node --import=tsx benchmarks/sts-throughput/bench.ts --sweep --modes none   # the 33-point sweep only
//   options: --precision bf16|fp16|fp32 (reference.py runs in the same 16-bit type; fp32 runs ours only against bf16 PyTorch), --modes dataset16,sorted512 (or none), --billm last|none|k (default
//            last: BeLLM, layer 31 bidirectional), --python python3, --out results.json, --warmup 2,
//            --profile (a per-op table of one sorted batch, synchronizing after every op),
//            --sweep (billmStartIndex 0..L: our shared-prefix sweep vs L+1 independent PyTorch runs, on
//            --sweep-sentences 4000 sentences spread evenly over the workload, --sweep-batch 512 sorted)
//
// Order (STYLE.md: validate, then time, as a ratio to a named peer):
//   1. a small random LLaMA (GQA, bf16-exact weights) on 8 real prompts: CUDA vs the CPU reference,
//      fixture README tolerance for bf16 (cosine >= 0.999 per embedding);
//   2. reference.py runs first (its own process, so the GPU is all its own) and reports its numbers;
//   3. our backend: weights generated on the device (bb_fill_normal, std 0.02, norms 1), a warm-up,
//      then every batch of each mode timed end to end (pack, upload, forward, pooled download).
//   4. with --sweep: the degradation sweep's work, every billmStartIndex k in 0..L on the same
//      sentences. Ours: src/experiments/run/sweep.ts (causal prefix run once, a branch per k, states kept
//      on the device). PyTorch: L+1 independent evaluations, one per k (what a user would otherwise run).
// Reports sentences/s, tokens/s, useful TFLOP/s, peak memory, and ours / PyTorch.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CpuBackend } from '../../src/backend/cpu/backend.ts';
import { CUDA_PRECISIONS, CudaBackend, type CudaPrecision } from '../../src/backend/cuda/backend.ts';
import type { LibraryKind } from '../../src/backend/cuda/lib.ts';
import type { WeightHandle } from '../../src/backend/ops.ts';
import { packBatch } from '../../src/model/arch/batch.ts';
import { Decoder } from '../../src/model/arch/decoder.ts';
import { ProfiledBackend } from '../../src/backend/profile.ts';
import { sweepBatch, sweepCost } from '../../src/experiments/run/sweep.ts';
import { tokenizeAll } from '../../src/model/embed/embedder.ts';
import { PRESETS } from '../../src/model/presets/presets.ts';
import { loadTokenizer } from '../../src/model/tokenize/tokenizer.ts';
import type { LlamaConfig, Matrix, ModelWeights } from '../../src/model/arch/types.ts';
import { allSentences, loadTask } from '../../src/tasks/load.ts';
import { TASK_ORDER } from '../../src/tasks/registry.ts';
import { repoRoot, rng, sharedDir, sortedBatches, usefulFlops } from '../cpu-throughput/workload.ts';
import { llamaArch } from '../../src/model/formats/config.ts';

const { values: args } = parseArgs({
  options: {
    precision: { type: 'string', default: 'bf16' },
    modes: { type: 'string', default: 'dataset16,sorted512' },
    billm: { type: 'string', default: 'last' },
    layers: { type: 'string' },                      // fewer layers than 32, for a quick look
    limit: { type: 'string' },                       // first N sentences (dataset order)
    warmup: { type: 'string', default: '2' },        // batches run before timing each mode
    'no-torch': { type: 'boolean', default: false },
    python: { type: 'string', default: 'python3' },
    out: { type: 'string' },
    'data-dir': { type: 'string', default: join(sharedDir, 'data', 'senteval') },
    tokenizer: { type: 'string', default: join(sharedDir, 'models', 'llama2-tokenizer') },
    library: { type: 'string', default: 'cuda' },    // 'emu': the CPU emulation build (script smoke test only)
    model: { type: 'string', default: '7b' },        // '7b' or 'tiny' (with --library emu)
    profile: { type: 'boolean', default: false },
    sweep: { type: 'boolean', default: false },
    'sweep-sentences': { type: 'string', default: '4000' },
    'sweep-batch': { type: 'string', default: '512' },
  },
});

const log = (s: string): void => console.error(s);
const fmt = (x: number, d = 1): string => x.toFixed(d);
const GiB = 2 ** 30;

/** LLaMA-2-7B's shape (config.json of meta-llama/Llama-2-7b-hf), and a tiny one for smoke tests. */
const CONFIGS: Record<string, LlamaConfig> = {
  '7b': {
    model_type: 'llama', hidden_size: 4096, intermediate_size: 11008, num_hidden_layers: 32, num_attention_heads: 32,
    num_key_value_heads: 32, head_dim: 128, rms_norm_eps: 1e-5, rope_theta: 10000, vocab_size: 32000,
    max_position_embeddings: 4096, torch_dtype: 'bfloat16', bos_token_id: 1, pad_token_id: 0, arch: llamaArch(32, 128),
  },
  tiny: {
    model_type: 'llama', hidden_size: 64, intermediate_size: 176, num_hidden_layers: 4, num_attention_heads: 4,
    num_key_value_heads: 2, head_dim: 16, rms_norm_eps: 1e-5, rope_theta: 10000, vocab_size: 32000,
    max_position_embeddings: 4096, torch_dtype: 'bfloat16', bos_token_id: 1, pad_token_id: 0, arch: llamaArch(4, 16),
  },
};

interface ModeResult {
  mode: string;
  batches: number;
  sentences: number;
  tokens: number;
  paddedTokens: number;
  seconds: number;
  sentencesPerSec: number;
  tokensPerSec: number;
  usefulTflops: number;
  peakMemoryGiB: number;         // ours: bytes held by tensors (bb_malloc); PyTorch: max_memory_allocated
  deviceUsedGiB?: number;        // ours: total - free after the mode (context, pool, cuBLAS workspace)
}

interface SweepResult {
  points: number;
  sentences: number;
  tokens: number;
  batches: number;
  seconds: number;
  layerPasses: number;              // per batch: causal prefix once + one branch per k
  independentLayerPasses: number;   // per batch: (L + 1) x L
  usefulTflops: number;             // useful FLOPs of the L + 1 independent evaluations / our time
  peakMemoryGiB: number;
}

interface TorchResults {
  info: Record<string, unknown>;
  results: ModeResult[];
  sweep?: { seconds: number; usefulTflops: number; peakMemoryGiB: number; perK: { k: number; seconds: number }[] } | null;
}

/** Weights are not uploaded: each matrix is generated on the device (HF's init: N(0, 0.02^2)), norms are 1. */
class RandomWeightsCuda extends CudaBackend {
  private seed = 1;
  override uploadMatrix(m: Matrix): WeightHandle {
    return this.randomWeight(m.rows, m.cols, 0.02, this.seed++);
  }
  override uploadVector(v: Float32Array): WeightHandle {
    return this.constantWeight(1, v.length, 1);
  }
}

/** ModelWeights with the right shapes and no data (RandomWeightsCuda ignores the values). */
function shapesOnly(c: LlamaConfig): ModelWeights {
  const H = c.hidden_size, F = c.intermediate_size, D = c.head_dim;
  const m = (rows: number, cols: number): Matrix => ({ rows, cols, data: new Float32Array(0) });
  const v = (n: number): Float32Array => new Float32Array(n);
  return {
    embed_tokens: m(c.vocab_size, H),
    norm: v(H),
    layers: Array.from({ length: c.num_hidden_layers }, () => ({
      input_layernorm: v(H), q_proj: m(c.num_attention_heads * D, H), k_proj: m(c.num_key_value_heads * D, H),
      v_proj: m(c.num_key_value_heads * D, H), o_proj: m(H, c.num_attention_heads * D), post_attention_layernorm: v(H),
      gate_proj: m(F, H), up_proj: m(F, H), down_proj: m(H, F),
    })),
  };
}

function cosine(a: Float32Array, b: Float32Array): number {
  let d = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) { d += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
  return d / Math.sqrt(na * nb);
}

/** Step 1: the backend agrees with the CPU reference on a small model and real prompts. */
function validate(library: LibraryKind, precision: CudaPrecision, prompts: number[][]): void {
  const c: LlamaConfig = { ...CONFIGS.tiny, hidden_size: 128, intermediate_size: 344, num_hidden_layers: 3, num_attention_heads: 8, num_key_value_heads: 2 };
  const r = rng(4321);
  const bf = new Float32Array(1), bu = new Uint32Array(bf.buffer);
  const rnd = (n: number, std: number, mean = 0): Float32Array => Float32Array.from({ length: n }, () => {
    bf[0] = mean + (2 * r() - 1) * std * Math.sqrt(3);
    bu[0] = bu[0] & 0xffff0000;   // truncate to a bf16 value: both backends see the same weights
    return bf[0];
  });
  const H = c.hidden_size, F = c.intermediate_size, D = c.head_dim;
  const mat = (rows: number, cols: number): Matrix => ({ rows, cols, data: rnd(rows * cols, 1 / Math.sqrt(cols)) });
  const w: ModelWeights = {
    embed_tokens: { rows: c.vocab_size, cols: H, data: rnd(c.vocab_size * H, 1) },
    norm: rnd(H, 0.1, 1),
    layers: Array.from({ length: c.num_hidden_layers }, () => ({
      input_layernorm: rnd(H, 0.1, 1), q_proj: mat(c.num_attention_heads * D, H), k_proj: mat(c.num_key_value_heads * D, H),
      v_proj: mat(c.num_key_value_heads * D, H), o_proj: mat(H, c.num_attention_heads * D), post_attention_layernorm: rnd(H, 0.1, 1),
      gate_proj: mat(F, H), up_proj: mat(F, H), down_proj: mat(H, F),
    })),
  };
  const batch = packBatch(prompts);
  const k = c.num_hidden_layers - 1;
  const gpu = new CudaBackend({ library, precision });
  const gpuDec = new Decoder(gpu, c, w);
  const cpuDec = new Decoder(new CpuBackend({ reference: true }), c, w);
  const reference = (kk: number) => cpuDec.forward(batch, { billmStartIndex: kk, poolings: ['last'] }).last!;
  let minCos = 1;
  const compare = (got: Float32Array, want: Float32Array): void => {
    for (let s = 0; s < batch.count; s++) minCos = Math.min(minCos, cosine(got.subarray(s * H, (s + 1) * H), want.subarray(s * H, (s + 1) * H)));
  };
  compare(gpuDec.forward(batch, { billmStartIndex: k, poolings: ['last'] }).last!, reference(k));
  // The sweep's path (shared causal prefix, a device-side copy per branch) against independent CPU runs.
  const ks = [0, 1, c.num_hidden_layers];
  const swept = sweepBatch(gpuDec, batch, ks, 'bidirectional', 'last').pooled;
  for (const kk of ks) compare(swept.get(kk)!, reference(kk));
  const need = precision === 'fp32' ? 0.99999 : 0.999;   // 16-bit: the fixture README's bf16 tolerance
  log(`validate ${gpu.name} vs CPU reference (${batch.count} prompts, ${c.num_hidden_layers} layers, GQA; forward and sweep k=${ks.join(',')}): ` +
    `min cosine ${minCos.toFixed(6)} (need >= ${need})`);
  if (!(minCos >= need)) throw new Error('the CUDA backend disagrees with the CPU reference: not timing it');
  gpu.dispose();
}

function main(): void {
  const precision = args.precision as CudaPrecision;
  if (!CUDA_PRECISIONS.includes(precision)) throw new Error(`--precision ${CUDA_PRECISIONS.join(', ')}; got ${args.precision}`);
  const library = args.library as LibraryKind;
  const base = CONFIGS[args.model!];
  if (!base) throw new Error(`--model ${args.model}: 7b or tiny`);
  const c: LlamaConfig = { ...base, num_hidden_layers: args.layers ? Number(args.layers) : base.num_hidden_layers };
  const L = c.num_hidden_layers;
  const k = args.billm === 'none' ? null : args.billm === 'last' ? L - 1 : Number(args.billm);
  const modes = args.modes === 'none' ? [] : args.modes!.split(',').map((s) => s.trim());
  for (const m of modes) if (!/^(dataset|sorted)\d+$/.test(m)) throw new Error(`--modes: ${m} is not dataset<N>, sorted<N> or none`);
  if (!modes.length && !args.sweep) throw new Error('--modes none without --sweep: nothing to run');

  // The workload: unique sentences of the scored subsets of the 7 tasks, SentEval order, BeLLM prompt.
  const seen = new Set<string>();
  for (const name of TASK_ORDER) for (const s of allSentences(loadTask(name, args['data-dir']!))) seen.add(s);
  let sentences = [...seen];
  if (args.limit) sentences = sentences.slice(0, Number(args.limit));
  const tok = loadTokenizer(args.tokenizer!);
  const ids = tokenizeAll(tok, sentences, PRESETS['bellm-sts']);
  const lengths = ids.map((x) => x.length);
  const tokens = lengths.reduce((a, b) => a + b, 0);
  log(`workload: ${sentences.length} unique sentences of ${TASK_ORDER.join(', ')} in the BeLLM prompt; ${tokens} tokens ` +
    `(${fmt(tokens / sentences.length)} per sentence, ${Math.min(...lengths)}..${Math.max(...lengths)}); ${tok.description}`);
  log(`model: ${args.model === '7b' ? 'LLaMA-2-7B shape' : 'tiny LLaMA'}, ${L} layers, random ${precision} weights; billmStartIndex ${k}`);

  const plans = modes.map((mode) => {
    const size = Number(/\d+$/.exec(mode)![0]);
    const batches = mode.startsWith('dataset')
      ? Array.from({ length: Math.ceil(ids.length / size) }, (_, b) => Array.from({ length: Math.min(size, ids.length - b * size) }, (_, j) => b * size + j))
      : sortedBatches(lengths, size);
    return { mode, batches };
  });

  // The sweep's sentences: spread evenly over the workload (every length range represented).
  const sweepN = Math.min(Number(args['sweep-sentences']), ids.length);
  const sweepKs = Array.from({ length: L + 1 }, (_, i) => i);
  const sweepIdx = args.sweep ? Array.from({ length: sweepN }, (_, i) => Math.floor((i * ids.length) / sweepN)) : [];
  const sweepLengths = sweepIdx.map((i) => lengths[i]);
  const sweepBatches = sortedBatches(sweepLengths, Number(args['sweep-batch'])).map((b) => b.map((j) => sweepIdx[j]));
  const sweepFlops = sweepKs.reduce((a, kk) => a + usefulFlops(c, sweepLengths, kk), 0);

  validate(library, precision, ids.slice(0, 8));

  // 2. PyTorch first, in its own process.
  let torch: TorchResults | null = null;
  if (!args['no-torch']) {
    const dir = mkdtempSync(join(os.tmpdir(), 'bellm-gpu-bench-'));
    const workload = join(dir, 'workload.json');
    writeFileSync(workload, JSON.stringify({
      config: c, billmStartIndex: k, ids, dtype: precision === 'fp16' ? 'fp16' : 'bf16',
      modes: plans.map((p) => ({ mode: p.mode, batches: p.batches, usefulFlops: usefulFlops(c, lengths, k) })),
      warmup: Number(args.warmup),
      sweep: args.sweep ? { ks: sweepKs, sentences: sweepIdx, batches: sweepBatches, usefulFlops: sweepFlops } : null,
    }));
    const resultsFile = join(dir, 'torch-results.json');
    log(`running reference.py (${args.python}) on ${workload} ...`);
    const r = spawnSync(args.python!, [join(repoRoot, 'benchmarks', 'sts-throughput', 'reference.py'), '--workload', workload, '--out', resultsFile], { stdio: ['ignore', 'inherit', 'inherit'] });
    if (r.status !== 0) throw new Error(`reference.py failed (exit ${r.status}); run with --no-torch to time ours alone`);
    torch = JSON.parse(readFileSync(resultsFile, 'utf8'));
  }

  // 3. Ours.
  let t0 = performance.now();
  const backend = new RandomWeightsCuda({ library, precision });
  const dec = new Decoder(backend, c, shapesOnly(c));
  backend.synchronize();
  const wm = backend.memoryStats();
  log(`${backend.name}: ${backend.description}`);
  log(`weights generated on the device in ${fmt((performance.now() - t0) / 1000, 2)} s: ${fmt(wm.liveBytes / GiB, 2)} GiB`);
  const ours: ModeResult[] = [];
  for (const { mode, batches } of plans) {
    const packed = batches.map((b) => packBatch(b.map((i) => ids[i])));
    const warm = Math.min(Number(args.warmup), packed.length);
    for (let i = 0; i < warm; i++) dec.forward(packed[i], { billmStartIndex: k, poolings: ['last'] });
    backend.synchronize();
    backend.resetPeakMemory();
    t0 = performance.now();
    for (const b of packed) dec.forward(b, { billmStartIndex: k, poolings: ['last'] });   // ends with a download: synchronous
    const seconds = (performance.now() - t0) / 1000;
    const m = backend.memoryStats();
    const padded = batches.reduce((a, b) => a + b.length * Math.max(...b.map((i) => lengths[i])), 0);
    ours.push({
      mode, batches: batches.length, sentences: sentences.length, tokens, paddedTokens: padded, seconds,
      sentencesPerSec: sentences.length / seconds, tokensPerSec: tokens / seconds,
      usefulTflops: usefulFlops(c, lengths, k) / seconds / 1e12, peakMemoryGiB: m.peakBytes / GiB,
      deviceUsedGiB: (m.deviceTotalBytes - m.deviceFreeBytes) / GiB,
    });
    log(`ours ${mode}: ${fmt(seconds, 2)} s, ${fmt(sentences.length / seconds, 0)} sentences/s`);
  }

  // 4. The sweep: every k on the same sentences, shared causal prefix.
  let sweep: SweepResult | null = null;
  if (args.sweep) {
    const packed = sweepBatches.map((b) => packBatch(b.map((i) => ids[i])));
    sweepBatch(dec, packed[packed.length - 1], sweepKs, 'bidirectional', 'last');   // warm-up: the shortest batch
    backend.synchronize();
    backend.resetPeakMemory();
    t0 = performance.now();
    let passes = 0;
    for (const b of packed) passes += sweepBatch(dec, b, sweepKs, 'bidirectional', 'last').layerPasses;
    const seconds = (performance.now() - t0) / 1000;
    const cost = sweepCost(sweepKs, L, 'bidirectional');
    sweep = {
      points: sweepKs.length, sentences: sweepN, tokens: sweepLengths.reduce((a, b) => a + b, 0), batches: packed.length, seconds,
      layerPasses: passes / packed.length, independentLayerPasses: cost.naive,
      usefulTflops: sweepFlops / seconds / 1e12, peakMemoryGiB: backend.memoryStats().peakBytes / GiB,
    };
    log(`ours sweep (k = 0..${L}, ${sweepN} sentences): ${fmt(seconds, 2)} s, ${sweep.layerPasses} layer passes per batch (independent runs: ${cost.naive})`);
  }

  // 5. Where the time goes: one sorted batch, synchronizing after every op (an upper bound per op).
  let profile: string | null = null;
  if (args.profile) {
    const b = packBatch(sortedBatches(lengths, 512)[0].map((i) => ids[i]));
    const prof = new ProfiledBackend(backend, () => backend.synchronize());
    // The same decoder (its device weights) seen through the profiler: a new Decoder would generate them again.
    const pdec = Object.create(dec, { backend: { value: prof } }) as Decoder;
    pdec.forward(b, { billmStartIndex: k, poolings: ['last'] });
    prof.reset();
    pdec.forward(b, { billmStartIndex: k, poolings: ['last'] });
    profile = `Per-op profile: one batch of ${b.count} sentences, ${b.starts[b.count]} tokens (sync after every op)\n\n${prof.table()}`;
    console.log(`\n${profile}\n`);
  }

  // Report.
  const row = (who: string, r: ModeResult, ratio: string): string =>
    `| ${r.mode} | ${who} | ${fmt(r.seconds, 2)} | ${fmt(r.sentencesPerSec, 0)} | ${fmt(r.tokensPerSec, 0)} | ${fmt(r.usefulTflops, 1)} | ${fmt(r.peakMemoryGiB, 2)} | ${ratio} |`;
  const lines = ['| batching | backend | s | sentences/s | tokens/s | useful TFLOP/s | peak GiB | ours / PyTorch |', '|---|---|---|---|---|---|---|---|'];
  for (const r of ours) {
    const t = torch?.results.find((x) => x.mode === r.mode);
    lines.push(row(backend.name, r, t ? `${fmt(r.sentencesPerSec / t.sentencesPerSec, 2)}x` : ''));
    if (t) lines.push(row(`PyTorch ${String(torch!.info.torch ?? '')} sdpa`, t, ''));
  }
  if (ours.length) console.log(lines.join('\n'));
  if (sweep) {
    const ts = torch?.sweep;
    console.log([
      '',
      `Sweep: billmStartIndex 0..${L} (${sweep.points} points), ${sweep.sentences} sentences (${sweep.tokens} tokens), sorted batches of ${args['sweep-batch']}`,
      '',
      '| backend | s | layer passes per batch | equivalent useful TFLOP/s | peak GiB | ours / PyTorch |',
      '|---|---|---|---|---|---|',
      `| ${backend.name}, shared prefix | ${fmt(sweep.seconds, 2)} | ${sweep.layerPasses} | ${fmt(sweep.usefulTflops, 1)} | ${fmt(sweep.peakMemoryGiB, 2)} | ${ts ? `${fmt(ts.seconds / sweep.seconds, 2)}x` : ''} |`,
      ...(ts ? [`| PyTorch ${String(torch!.info.torch ?? '')} sdpa, ${sweep.points} independent runs | ${fmt(ts.seconds, 2)} | ${sweep.independentLayerPasses} | ${fmt(ts.usefulTflops, 1)} | ${fmt(ts.peakMemoryGiB, 2)} | |`] : []),
    ].join('\n'));
  }
  if (args.out) {
    writeFileSync(args.out, JSON.stringify({
      createdAt: new Date().toISOString(), device: backend.description, backend: backend.name, config: c, billmStartIndex: k,
      sentences: sentences.length, tokens, ours, sweep, profile, torch,
    }, null, 1));
    log(`results: ${args.out}`);
  }
}

main();
