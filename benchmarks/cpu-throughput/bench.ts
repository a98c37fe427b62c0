// CPU throughput: our CPU backend (fast build) against a PyTorch eager forward on the same machine,
// the same random weights, the same token ids and the same length-sorted batches of 32.
//
//   apt-get install -y python3-torch libopenblas0-pthread      (torch lives under /usr/bin/python3)
//   node --import=tsx benchmarks/cpu-throughput/bench.ts                       # both models
//   node --import=tsx benchmarks/cpu-throughput/bench.ts --models tiny --limit 256
//   node --import=tsx benchmarks/cpu-throughput/bench.ts --models 100m --profile --no-torch
// Ours runs twice by default (--ours helper,nohelper): with the helper thread of threads.ts (opt-in
// in the backend: BELLM_CPU_THREADS=2) and without it.
//
// Order (STYLE.md: validate, then time, as a ratio to a named peer):
//   1. fast CPU backend vs the CPU reference loops on a few sentences (fixture tolerance);
//   2. fast CPU backend vs PyTorch on the longest and the shortest batch (cosine >= 0.9999);
//   3. sgemm GFLOP/s of both (koffi cblas_sgemm vs torch.mm), for context;
//   4. STS-B test (2758 sentences) timed in chunks of 4 batches, each side running every chunk
//      before the next one (rotating who goes first), so that a change in the machine's background
//      load hits both; two passes, and per chunk each side's better pass counts;
//   5. every embedding of the first timed pass compared again (min cosine).
// Reports sentences/s, useful GFLOP/s (workload.ts: usefulFlops) and the speed-up of ours.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { openBlasStatus } from '../../src/backend/cpu/blas.ts';
import { CpuBackend } from '../../src/backend/cpu/backend.ts';
import type { Backend, PackedBatch } from '../../src/backend/ops.ts';
import { packBatch } from '../../src/model/arch/batch.ts';
import { Decoder } from '../../src/model/arch/decoder.ts';
import type { LlamaConfig } from '../../src/model/arch/types.ts';
import {
  CONFIGS, matmulParams, randomWeights, repoRoot, sortedBatches, stsbTestSentences, tokenize, usefulFlops, writeWeights,
} from './workload.ts';

const { values: args } = parseArgs({
  options: {
    models: { type: 'string', default: 'tiny,100m' },
    batch: { type: 'string', default: '32' },
    limit: { type: 'string' },                       // first N sentences of STS-B test (quick runs)
    chunk: { type: 'string', default: '4' },         // batches per timing chunk (each side runs every chunk)
    repeat: { type: 'string', default: '2' },        // timed passes; per chunk the best one counts
    'torch-threads': { type: 'string', default: 'default' }, // torch.set_num_threads per PyTorch side, e.g. "default,2"
    // OPENBLAS_THREAD_TIMEOUT per PyTorch process: 'default' = the environment as given; '4' = what
    // our backend loads OpenBLAS with (blas.ts), so PyTorch gets the same library setting
    'torch-timeout': { type: 'string', default: 'default,4' },
    ours: { type: 'string', default: 'helper,nohelper' }, // our sides: helper | nohelper | default
    'no-torch': { type: 'boolean', default: false },
    python: { type: 'string', default: '/usr/bin/python3' },
    billm: { type: 'string', default: 'last' },      // billmStartIndex: 'last' (BeLLM: L-1), 'none' or a number
    profile: { type: 'boolean', default: false },    // per-op time of our backend (adds a little overhead)
    out: { type: 'string' },                         // write the results as JSON here
  },
});

// Weights for PyTorch go to a temp dir (440 MB for the 100M model): removed on exit and on Ctrl-C.
const tempDirs = new Set<string>();
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
    process.exit(130);
  });
}

const fmt = (x: number, d = 1): string => x.toFixed(d);
const loadavg = (): string => os.loadavg().map((x) => x.toFixed(2)).join(' ');
const log = (s: string): void => console.error(s);

// ---------------------------------------------------------------------------------------------
/** The PyTorch peer as a line-oriented child process (reference.py). */
class TorchPeer {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly waiting: ((line: string) => void)[] = [];
  private stderr = '';

  constructor(python: string, workdir: string, env: NodeJS.ProcessEnv = process.env) {
    this.child = spawn(python, [join(repoRoot, 'benchmarks', 'cpu-throughput', 'reference.py'), workdir], { stdio: 'pipe', env });
    this.child.stderr.on('data', (d: Buffer) => { this.stderr += d.toString(); });
    this.child.on('exit', (code) => {
      for (const w of this.waiting.splice(0)) w(JSON.stringify({ error: `reference.py exited with ${code}: ${this.stderr.trim().slice(-2000)}` }));
    });
    createInterface({ input: this.child.stdout }).on('line', (line) => this.waiting.shift()?.(line));
  }

  async send<T>(cmd: Record<string, unknown>): Promise<T> {
    const line = await new Promise<string>((res) => {
      this.waiting.push(res);
      this.child.stdin.write(JSON.stringify(cmd) + '\n');
    });
    const r = JSON.parse(line) as T & { error?: string };
    if (r.error) throw new Error(`reference.py: ${r.error}`);
    return r;
  }

  async close(): Promise<void> {
    await this.send({ cmd: 'quit' }).catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------------------------
function cosine(a: Float32Array, b: Float32Array): number {
  let d = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) { d += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
  return d / Math.sqrt(na * nb);
}

/** Per-vector comparison of [n, H] embeddings: min cosine and max |diff| / max |want| of that vector. */
function compare(got: Float32Array, want: Float32Array, H: number): { minCos: number; maxRel: number; worst: number } {
  if (got.length !== want.length) throw new Error(`compare: ${got.length} vs ${want.length} values`);
  let minCos = 1, maxRel = 0, worst = -1;
  for (let s = 0; s * H < got.length; s++) {
    const a = got.subarray(s * H, (s + 1) * H), b = want.subarray(s * H, (s + 1) * H);
    const c = cosine(a, b);
    let m = 0, e = 0;
    for (let i = 0; i < H; i++) { m = Math.max(m, Math.abs(b[i])); e = Math.max(e, Math.abs(a[i] - b[i])); }
    if (c < minCos || !(c === c)) { minCos = c; worst = s; }
    maxRel = Math.max(maxRel, e / m);
  }
  return { minCos, maxRel, worst };
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

/** Wraps each op of a backend to add up its wall time. */
function profiled(b: Backend, times: Map<string, number>): Backend {
  const ops = ['embedding', 'rmsnorm', 'matmul', 'rope', 'attention', 'siluMul', 'addInPlace', 'copy', 'pool'] as const;
  const wrapped = Object.create(b) as Backend;
  for (const op of ops) {
    const f = (b[op] as (...a: unknown[]) => unknown).bind(b);
    (wrapped as unknown as Record<string, unknown>)[op] = (...a: unknown[]) => {
      const t0 = performance.now();
      const r = f(...a);
      times.set(op, (times.get(op) ?? 0) + performance.now() - t0);
      return r;
    };
  }
  return wrapped;
}

function ourSgemm(b: CpuBackend, M: number, K: number, O: number, reps: number): number {
  const x = new Float32Array(M * K).map((_, i) => ((i * 7919) % 1000) / 1000);
  const w = new Float32Array(O * K).map((_, i) => ((i * 104729) % 1000) / 1000);
  const xa = b.uploadMatrix({ rows: M, cols: K, data: x });
  const wa = b.uploadMatrix({ rows: O, cols: K, data: w });
  const act = { rows: M, cols: K, data: x }; // a CpuTensor
  for (let i = 0; i < 3; i++) b.free(b.matmul(act, wa));
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) b.free(b.matmul(act, wa));
  const dt = (performance.now() - t0) / 1000;
  void xa;
  return (2 * M * K * O * reps) / dt / 1e9;
}

// ---------------------------------------------------------------------------------------------
interface SideResult { label: string; seconds: number; sentencesPerSec: number; gflops: number }

async function benchModel(name: string, c: LlamaConfig, sentences: string[]): Promise<Record<string, unknown>> {
  const L = c.num_hidden_layers;
  const k = args.billm === 'none' ? null : args.billm === 'last' ? L - 1 : Number(args.billm);
  const batchSize = Number(args.batch);
  log(`\n== ${name}: ${L} layers, hidden ${c.hidden_size}, MLP ${c.intermediate_size}, ${c.num_attention_heads} heads / ${c.num_key_value_heads} KV, vocab ${c.vocab_size}; matmul params ${fmt(matmulParams(c) / 1e6, 2)}M; billmStartIndex ${k}`);
  const ids = tokenize(sentences);
  const lengths = ids.map((s) => s.length);
  const batches = sortedBatches(lengths, batchSize);
  const seqs = batches.map((b) => b.map((i) => ids[i]));
  const packed: PackedBatch[] = seqs.map((s) => packBatch(s));
  const batchFlops = seqs.map((s) => usefulFlops(c, s.map((x) => x.length), k));
  const tokens = lengths.reduce((a, b) => a + b, 0);
  const paddedTokens = seqs.reduce((a, s) => a + s.length * Math.max(...s.map((x) => x.length)), 0);
  log(`${sentences.length} sentences, ${tokens} tokens (${fmt(tokens / sentences.length, 1)} per sentence, ${Math.min(...lengths)}..${Math.max(...lengths)}), ${batches.length} batches of <= ${batchSize}; padded for PyTorch: ${paddedTokens} tokens (+${fmt((100 * (paddedTokens - tokens)) / tokens)}%)`);

  let t0 = performance.now();
  const weights = randomWeights(c);
  log(`random weights: ${fmt((performance.now() - t0) / 1000)} s`);
  // Ours, once per --ours entry: 'helper' = with the helper thread (threads.ts; opt-in in the
  // backend, BELLM_CPU_THREADS=2), 'nohelper' = without, 'default' = as new CpuBackend() decides.
  const oursSides = args.ours!.split(',').map((o) => {
    if (o !== 'helper' && o !== 'nohelper' && o !== 'default') throw new Error(`--ours ${o}: choose helper, nohelper or default`);
    const b = new CpuBackend(o === 'default' ? {} : { helper: o === 'helper' });
    return { spec: o, backend: b };
  });
  for (const o of oursSides) {
    const st = await o.backend.helperSettled();
    if (o.spec === 'helper' && st !== 'ready') throw new Error(`--ours helper: the helper thread is ${st} (one core? BELLM_CPU_THREADS=1?)`);
    log(`ours (${o.spec}): ${o.backend.describe()} (helper thread: ${st})`);
  }
  const fast = oursSides[0].backend; // validation, sgemm, profile, embeddings compared with PyTorch
  const helper = fast.helperState();
  const times = new Map<string, number>();
  const backend = args.profile ? profiled(fast, times) : fast;
  const dec = new Decoder(backend, c, weights);
  const label = (o: { spec: string; backend: CpuBackend }): string =>
    `ours: ${o.backend.name}${o.spec === 'default' ? '' : o.backend.helperState() === 'ready' ? ', helper thread' : ', no helper thread'}`;
  const otherDecs = oursSides.slice(1).map((o) => ({ label: label(o), dec: new Decoder(o.backend, c, weights) }));
  const H = c.hidden_size;
  const ours = (i: number): Float32Array => dec.forward(packed[i], { billmStartIndex: k, poolings: ['last'] }).last!;

  // 1. fast vs reference loops, a few sentences (the reference is slow at 100M)
  {
    const refDec = new Decoder(new CpuBackend({ reference: true }), c, weights);
    const pick = [...batches[batches.length - 1].slice(0, 3), batches[0][0]].map((i) => ids[i]);
    const b = packBatch(pick);
    const got = dec.forward(b, { billmStartIndex: k, poolings: ['last'] }).last!;
    const want = refDec.forward(b, { billmStartIndex: k, poolings: ['last'] }).last!;
    const r = compare(got, want, H);
    log(`validate fast vs reference loops (${pick.length} sentences): min cosine ${r.minCos.toFixed(8)}, max |diff| ${r.maxRel.toExponential(2)} x max|ref|`);
    if (!(r.minCos >= 0.99999 && r.maxRel <= 1e-4)) throw new Error(`fast CPU backend disagrees with the reference loops (sentence ${r.worst})`);
  }

  const result: Record<string, unknown> = {
    model: name, config: c, billmStartIndex: k, sentences: sentences.length, tokens, paddedTokens, batches: batches.length, batchSize,
    ours: fast.describe(), helperThread: helper,
    usefulGflop: batchFlops.reduce((a, b) => a + b, 0) / 1e9,
  };

  let peer: TorchPeer | null = null; // the first PyTorch process: validation, sgemm, embeddings
  const peers: TorchPeer[] = [];
  let workdir: string | null = null;
  const torchSides: { label: string; n: number | null; peer: TorchPeer }[] = [];
  try {
    if (!args['no-torch']) {
      workdir = mkdtempSync(join(os.tmpdir(), `bellm-cpu-bench-${name}-`));
      tempDirs.add(workdir);
      t0 = performance.now();
      writeWeights(workdir, c, weights);
      writeFileSync(join(workdir, 'batches.json'), JSON.stringify({ batches: seqs, billmStartIndex: k }));
      let info: Record<string, unknown> = {};
      for (const to of args['torch-timeout']!.split(',')) {
        const env = { ...process.env };
        if (to !== 'default') env.OPENBLAS_THREAD_TIMEOUT = to;
        const p = new TorchPeer(args.python!, workdir, env);
        peers.push(p);
        peer ??= p;
        info = await p.send<Record<string, unknown>>({ cmd: 'info' });
        const tag = to === 'default' ? '' : `, OPENBLAS_THREAD_TIMEOUT=${to}`;
        for (const s of args['torch-threads']!.split(',')) {
          const n = s === 'default' ? Number(info.threads) : Number(s);
          torchSides.push({ label: `PyTorch (${n} thr${tag})`, n, peer: p });
        }
      }
      result.torch = info;
      log(`PyTorch ${info.torch} (numpy ${info.numpy}, ${info.blas}), ${info.threads} intra-op threads by default; ${peers.length} process(es); weights written and loaded in ${fmt((performance.now() - t0) / 1000)} s`);
      peer = peers[0];

      // 2. fast vs PyTorch on the longest and the shortest batch
      const check = [0, batches.length - 1];
      await peer.send({ cmd: 'run', batches: check, out: 'validate.bin' });
      const want = new Float32Array(readFileSync(join(workdir, 'validate.bin')).buffer.slice(0));
      const got = concat(check.map(ours));
      const r = compare(got, want, H);
      result.validateTorch = r;
      log(`validate fast vs PyTorch (batches ${check.join(', ')}: ${got.length / H} sentences): min cosine ${r.minCos.toFixed(8)}, max |diff| ${r.maxRel.toExponential(2)} x max|torch|`);
      if (!(r.minCos >= 0.9999)) throw new Error(`our CPU backend and PyTorch disagree (sentence ${r.worst} of the check): the comparison would be meaningless`);
    }

    // 3. sgemm for context
    const shapes: [number, number, number][] = [[1024, c.hidden_size, c.intermediate_size], [512, c.hidden_size, c.hidden_size]];
    const sg: Record<string, unknown>[] = [];
    for (const [M, K, O] of shapes) {
      const reps = Math.max(3, Math.round(2e10 / (2 * M * K * O)));
      const mine = ourSgemm(fast, M, K, O, reps);
      const theirs = peer ? (await peer.send<{ gflops: number }>({ cmd: 'sgemm', M, K, O, reps })).gflops : NaN;
      sg.push({ M, K, O, ours: mine, torch: theirs });
      log(`sgemm [${M}x${K}] x [${O}x${K}]^T: ours (koffi cblas_sgemm) ${fmt(mine)} GFLOP/s, torch.mm ${fmt(theirs)} GFLOP/s`);
    }
    result.sgemm = sg;

    // 4. timing: chunks of batches, every side on each chunk before the next chunk (the order of the
    //    sides rotates), the whole pass `repeat` times; a side's time is the sum over chunks of its
    //    best repetition (background load only ever adds time), and the plain mean is kept beside it.
    const chunk = Number(args.chunk);
    const repeat = Number(args.repeat);
    ours(batches.length - 1); // warm-up (JIT, pool, RoPE table)
    for (const s of torchSides) {
      await s.peer.send({ cmd: 'threads', n: s.n });
      await s.peer.send({ cmd: 'run', batches: [batches.length - 1] });
    }
    const chunks: number[][] = [];
    for (let c0 = 0; c0 < batches.length; c0 += chunk) chunks.push(Array.from({ length: Math.min(chunk, batches.length - c0) }, (_, j) => c0 + j));
    const oursParts: Float32Array[] = [];
    type Runner = { label: string; run: (idx: number[], ci: number, rep: number) => Promise<number> };
    for (const o of otherDecs) o.dec.forward(packed[batches.length - 1], { billmStartIndex: k, poolings: ['last'] }); // warm-up
    const runners: Runner[] = [
      {
        label: label(oursSides[0]),
        run: async (idx, _ci, rep) => {
          const t = performance.now();
          for (const i of idx) { const e = ours(i); if (rep === 0) oursParts.push(e); }
          return (performance.now() - t) / 1000;
        },
      },
      ...otherDecs.map((o): Runner => ({
        label: o.label,
        run: async (idx) => {
          const t = performance.now();
          for (const i of idx) o.dec.forward(packed[i], { billmStartIndex: k, poolings: ['last'] });
          return (performance.now() - t) / 1000;
        },
      })),
      ...torchSides.map((ts, j): Runner => ({
        label: ts.label,
        run: async (idx, ci, rep) => {
          await ts.peer.send({ cmd: 'threads', n: ts.n });
          const out = j === 0 && rep === 0 ? `time-${ci}.bin` : undefined;
          return (await ts.peer.send<{ seconds: number }>({ cmd: 'run', batches: idx, out })).seconds;
        },
      })),
    ];
    const t = runners.map(() => chunks.map(() => [] as number[])); // [side][chunk][rep]
    const load0 = loadavg();
    let profile: [string, number][] = [];
    for (let rep = 0; rep < repeat; rep++) {
      times.clear();
      for (let ci = 0; ci < chunks.length; ci++) {
        for (let j = 0; j < runners.length; j++) {
          const r = (j + ci + rep) % runners.length;
          t[r][ci].push(await runners[r].run(chunks[ci], ci, rep));
        }
        if (ci % 4 === 3 || ci === chunks.length - 1) {
          const so = runners.map((x, r) => `${x.label} ${fmt(t[r].slice(0, ci + 1).reduce((a, c) => a + c[rep], 0))} s`).join(', ');
          log(`  pass ${rep + 1}/${repeat}, batches 0..${chunks[ci][chunks[ci].length - 1]}: ${so} (load ${loadavg()})`);
        }
      }
      if (rep === 0) profile = [...times];
    }
    const load1 = loadavg();
    const totalFlops = batchFlops.reduce((a, b) => a + b, 0);
    const side = (label: string, per: number[][]): SideResult & { meanSeconds: number } => {
      const best = per.reduce((a, c) => a + Math.min(...c), 0);
      const mean = per.reduce((a, c) => a + c.reduce((x, y) => x + y, 0) / c.length, 0);
      return { label, seconds: best, meanSeconds: mean, sentencesPerSec: sentences.length / best, gflops: totalFlops / best / 1e9 };
    };
    const sides = runners.map((r, j) => side(r.label, t[j]));
    const oursSec = sides[0].seconds;
    result.timing = { sides, loadavgStart: load0, loadavgEnd: load1, chunk, repeat };

    // 5. all embeddings again
    if (peer) {
      const parts: Float32Array[] = [];
      for (let ci = 0; ci < chunks.length; ci++) parts.push(new Float32Array(readFileSync(join(workdir!, `time-${ci}.bin`)).buffer.slice(0)));
      const r = compare(concat(oursParts), concat(parts), H);
      result.compareAll = r;
      log(`all ${sentences.length} embeddings, ours vs PyTorch: min cosine ${r.minCos.toFixed(8)}, max |diff| ${r.maxRel.toExponential(2)} x max|torch|`);
    }

    console.log(`\n### ${name} (${L} layers, hidden ${c.hidden_size}), STS-B test, batches of ${batchSize}, load average ${load0} -> ${load1}\n`);
    console.log(`| side | seconds (best of ${repeat} per chunk) | sentences/s | useful GFLOP/s | speed-up of ours | seconds (mean) |`);
    console.log('|---|---:|---:|---:|---:|---:|');
    for (const s of sides) console.log(`| ${s.label} | ${fmt(s.seconds, 2)} | ${fmt(s.sentencesPerSec, 2)} | ${fmt(s.gflops, 1)} | ${fmt(s.seconds / oursSec, 2)} | ${fmt(s.meanSeconds, 2)} |`);
    if (args.profile) {
      const total = profile.reduce((a, [, ms]) => a + ms, 0) / 1000;
      const pass = t[0].reduce((a, c) => a + c[0], 0);
      console.log(`\nper-op time of ${fast.name}, pass 1 (${fmt(total, 2)} s in ops of ${fmt(pass, 2)} s):`);
      for (const [op, ms] of profile.sort((a, b) => b[1] - a[1])) console.log(`  ${op.padEnd(11)} ${fmt(ms / 1000, 2).padStart(7)} s  ${fmt((100 * ms) / 1000 / pass).padStart(5)} %`);
      result.profile = Object.fromEntries(profile.map(([op, ms]) => [op, ms / 1000]));
    }
  } finally {
    for (const p of peers) await p.close();
    if (workdir) { rmSync(workdir, { recursive: true, force: true }); tempDirs.delete(workdir); }
  }
  return result;
}

async function main(): Promise<void> {
  let sentences = stsbTestSentences();
  if (args.limit) sentences = sentences.slice(0, Number(args.limit));
  const machine = {
    cpu: os.cpus()[0]?.model ?? '?', cores: os.availableParallelism(), memGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version, openblas: openBlasStatus(), OPENBLAS_NUM_THREADS: process.env.OPENBLAS_NUM_THREADS ?? null,
  };
  log(`machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memGiB} GiB, Node ${machine.node}, load average ${loadavg()}`);
  log(`BLAS: ${machine.openblas}`);
  const results: Record<string, unknown>[] = [];
  for (const m of args.models!.split(',')) {
    const c = CONFIGS[m];
    if (!c) throw new Error(`unknown model ${m}: choose from ${Object.keys(CONFIGS).join(', ')}`);
    results.push(await benchModel(m, c, sentences));
  }
  if (args.out) writeFileSync(args.out, JSON.stringify({ machine, date: new Date().toISOString(), results }, null, 1));
}

await main();
