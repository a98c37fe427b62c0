#!/usr/bin/env node
// Builds the CUDA backend's native library (native/cuda -> native/cuda/build/), what `npm run build:cuda` runs.
//
//   node scripts/build-cuda.mjs            build what is out of date:
//                                            libbellm_cuda.so      nvcc, sm_80 + sm_90 (+ compute_90 PTX), static cudart
//                                            libbellm_cuda_emu.so  g++ -DBB_EMULATE: the same kernels run on the CPU
//                                            libcublas_emu.so      the CPU stand-in for cuBLAS the emulation loads
//   node scripts/build-cuda.mjs --check    CI: rebuild everything from scratch, check the exported symbols
//                                          against bb.h, load both libraries through koffi and run host-side
//                                          smoke checks (works without a GPU and without cuBLAS)
//   options: --force (rebuild), --emu-only (no nvcc needed), --no-emu, --arch 80,90 (SASS targets),
//            -j N (parallel compiles, default: CPU count), --verbose (print every command)
//   env:     NVCC=/path/to/nvcc, CXX=g++ (emulation build)
//
// cuBLAS is not needed to build: the library dlopen()s libcublas.so.13 (or .12) when it starts
// (native/cuda/cublas.cu). Running the real library needs an sm_80+ GPU, its driver and cuBLAS.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const srcDir = join(root, 'native', 'cuda');
const buildDir = join(srcDir, 'build');
const t0 = performance.now();

// ---- arguments ----
const args = process.argv.slice(2);
const opt = { check: false, force: false, emuOnly: false, noEmu: false, archs: ['80', '90'], jobs: cpus().length, verbose: false };
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--check') opt.check = true;
  else if (a === '--force') opt.force = true;
  else if (a === '--emu-only') opt.emuOnly = true;
  else if (a === '--no-emu') opt.noEmu = true;
  else if (a === '--verbose') opt.verbose = true;
  else if (a === '--arch') opt.archs = (args[++i] ?? '').split(',').map((s) => s.trim().replace(/^sm_/, '')).filter(Boolean);
  else if (a === '-j') opt.jobs = Number(args[++i]);
  else if (a === '-h' || a === '--help') {
    console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1, 16).map((l) => l.replace(/^\/\/ ?/, '')).join('\n'));
    process.exit(0);
  } else die(`unknown argument ${a} (see --help)`);
}
if (opt.check) opt.force = true;
if (!opt.archs.length || opt.archs.some((a) => !/^\d{2,3}a?$/.test(a))) die(`--arch wants e.g. 80,90; got ${opt.archs.join(',')}`);
if (!(opt.jobs >= 1)) die('-j wants a positive number');

function die(msg) {
  console.error(`build-cuda: ${msg}`);
  process.exit(1);
}
const log = (msg) => console.log(`build-cuda: ${msg}`);
const secs = (ms) => `${(ms / 1000).toFixed(1)} s`;

// ---- tools ----
function findNvcc() {
  const tried = [];
  const candidates = [];
  if (process.env.NVCC) return { nvcc: existsSync(process.env.NVCC) ? process.env.NVCC : null, tried: [`NVCC=${process.env.NVCC}`] };
  for (const d of (process.env.PATH ?? '').split(':')) if (d) candidates.push(join(d, 'nvcc'));
  candidates.push('/usr/local/cuda/bin/nvcc');
  if (existsSync('/usr/local')) {
    const versions = readdirSync('/usr/local').filter((d) => /^cuda-\d+(\.\d+)?$/.test(d)).sort((a, b) => parseFloat(b.slice(5)) - parseFloat(a.slice(5)));
    for (const d of versions) candidates.push(join('/usr/local', d, 'bin', 'nvcc'));
  }
  for (const c of candidates) {
    tried.push(c);
    if (existsSync(c)) return { nvcc: c, tried };
  }
  return { nvcc: null, tried };
}

function toolVersion(cmd, flag = '--version') {
  const r = spawnSync(cmd, [flag], { encoding: 'utf8' });
  if (r.status !== 0) return null;
  return r.stdout.trim().split('\n').filter(Boolean).pop() ?? '';
}

function run(cmd, argv, label) {
  return new Promise((resolveRun, rejectRun) => {
    if (opt.verbose) console.log(`  $ ${cmd} ${argv.join(' ')}`);
    const p = spawn(cmd, argv, { cwd: srcDir, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('error', (e) => rejectRun(new Error(`${label}: cannot run ${cmd}: ${e.message}`)));
    p.on('close', (code) => {
      if (code === 0) {
        if (out.trim()) console.log(out.trimEnd());   // warnings
        resolveRun();
      } else rejectRun(new Error(`${label} failed (exit ${code}):\n  $ ${cmd} ${argv.join(' ')}\n${out}`));
    });
  });
}

async function pool(tasks, n) {
  const queue = [...tasks];
  const errors = [];
  await Promise.all(Array.from({ length: Math.min(n, queue.length) }, async () => {
    while (queue.length) {
      const task = queue.shift();
      try {
        await task();
      } catch (e) {
        errors.push(e);
      }
    }
  }));
  if (errors.length) throw errors[0];
}

// ---- sources and staleness ----
const cuSources = readdirSync(srcDir).filter((f) => f.endsWith('.cu')).sort();
const headers = readdirSync(srcDir).filter((f) => f.endsWith('.h') || f.endsWith('.cuh') || f.endsWith('.map'));
const newestHeader = Math.max(...headers.map((h) => statSync(join(srcDir, h)).mtimeMs));
const mtime = (p) => (existsSync(p) ? statSync(p).mtimeMs : -1);
const stale = (out, inputs, flagsKey) => {
  if (opt.force || !existsSync(out)) return true;
  const stamp = `${out}.flags`;
  if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== flagsKey) return true;
  const t = mtime(out);
  return inputs.some((i) => mtime(i) > t);
};
const stamp = (out, flagsKey) => writeFileSync(`${out}.flags`, flagsKey);

async function buildTarget({ name, compiler, compileFlags, linkFlags, objDir, sources, lib }) {
  mkdirSync(objDir, { recursive: true });
  const key = createHash('sha256').update(JSON.stringify([compiler, compileFlags])).digest('hex').slice(0, 16);
  const objs = sources.map((s) => join(objDir, basename(s).replace(/\.(cu|cpp)$/, '.o')));
  const tasks = [];
  sources.forEach((s, i) => {
    const src = join(srcDir, s);
    if (!stale(objs[i], [src], key) && mtime(objs[i]) > newestHeader) return;
    tasks.push(async () => {
      const t = performance.now();
      await run(compiler, [...compileFlags, '-c', src, '-o', objs[i]], `${name}: compiling ${s}`);
      stamp(objs[i], key);
      if (opt.verbose) log(`${name}: ${s} ${secs(performance.now() - t)}`);
    });
  });
  const tc = performance.now();
  await pool(tasks, opt.jobs);
  const linkKey = createHash('sha256').update(JSON.stringify([compiler, linkFlags, key])).digest('hex').slice(0, 16);
  if (tasks.length || stale(lib, objs, linkKey)) {
    await run(compiler, [...linkFlags, '-o', lib, ...objs, '-ldl'], `${name}: linking`);
    stamp(lib, linkKey);
    log(`${name}: ${tasks.length} of ${sources.length} files compiled, linked ${lib.slice(root.length + 1)} ` +
      `(${(statSync(lib).size / 1e6).toFixed(1)} MB) in ${secs(performance.now() - tc)}`);
  } else log(`${name}: ${lib.slice(root.length + 1)} is up to date`);
}

// ---- build ----
if (opt.check && existsSync(buildDir)) rmSync(buildDir, { recursive: true, force: true });
mkdirSync(buildDir, { recursive: true });
const libCuda = join(buildDir, 'libbellm_cuda.so');
const libEmu = join(buildDir, 'libbellm_cuda_emu.so');
const libCublasEmu = join(buildDir, 'libcublas_emu.so');
const exportsMap = join(srcDir, 'exports.map');
const cxx = process.env.CXX || 'g++';

const targets = [];
if (!opt.emuOnly) {
  const { nvcc, tried } = findNvcc();
  if (!nvcc) {
    die(
      'nvcc (the CUDA compiler) was not found, so libbellm_cuda.so cannot be built.\n' +
      `  looked for: ${tried.filter((t, i, a) => a.indexOf(t) === i).join(', ')}\n` +
      '  install the CUDA toolkit 12.x or 13.x (https://developer.nvidia.com/cuda-downloads), put its bin/ on PATH\n' +
      '  or set NVCC=/path/to/nvcc. Without a GPU you can still build the CPU emulation: node scripts/build-cuda.mjs --emu-only',
    );
  }
  log(`nvcc: ${nvcc} (${toolVersion(nvcc) ?? 'version unknown'})`);
  const gencode = opt.archs.flatMap((a) => ['-gencode', `arch=compute_${a},code=sm_${a}`]);
  const last = opt.archs[opt.archs.length - 1];
  gencode.push('-gencode', `arch=compute_${last},code=compute_${last}`);   // PTX: runs (JIT) on newer GPUs
  const archNote = `${opt.archs.map((a) => `sm_${a}`).join('+')}+compute_${last}-PTX`;   // no spaces or commas: nvcc splits -D on them
  targets.push({
    name: 'cuda',
    compiler: nvcc,
    compileFlags: ['-O3', '-std=c++17', '-Xcompiler', '-fPIC,-Wall', ...gencode, `-DBB_ARCHS="${archNote}"`],
    linkFlags: ['-shared', '-cudart', 'static', ...gencode, '-Xlinker', `--version-script=${exportsMap}`],
    objDir: join(buildDir, 'obj', 'cuda'),
    sources: cuSources,
    lib: libCuda,
  });
}
if (!opt.noEmu) {
  if (toolVersion(cxx) === null) die(`${cxx} (C++ compiler for the CPU emulation build) not found; set CXX, or pass --no-emu`);
  targets.push({
    name: 'emu',
    compiler: cxx,
    compileFlags: ['-O2', '-g', '-std=c++17', '-fPIC', '-Wall', '-Wextra', '-Wno-unused-parameter', '-Wno-unknown-pragmas', '-DBB_EMULATE', '-x', 'c++'],
    linkFlags: ['-shared', `-Wl,--version-script=${exportsMap}`],
    objDir: join(buildDir, 'obj', 'emu'),
    sources: cuSources,
    lib: libEmu,
  });
  targets.push({
    name: 'cublas-emu',
    compiler: cxx,
    compileFlags: ['-O2', '-std=c++17', '-fPIC', '-Wall', '-Wextra'],
    linkFlags: ['-shared'],
    objDir: join(buildDir, 'obj', 'cublas-emu'),
    sources: ['cublas_emu.cpp'],
    lib: libCublasEmu,
  });
}

try {
  // The emulation targets are quick: build them beside the nvcc compiles.
  await Promise.all(targets.map((t) => buildTarget(t)));
} catch (e) {
  die(e.message);
}

// ---- check ----
if (opt.check) {
  const abi = Number(/#define BB_ABI_VERSION (\d+)/.exec(readFileSync(join(srcDir, 'bb.h'), 'utf8'))[1]);
  const declared = [...readFileSync(join(srcDir, 'bb.h'), 'utf8').matchAll(/\b(bb_\w+)\(/g)].map((m) => m[1]);
  const wanted = [...new Set(declared)].sort();
  for (const lib of [libCuda, libEmu].filter(existsSync)) {
    const nm = spawnSync('nm', ['-D', '--defined-only', lib], { encoding: 'utf8' });
    if (nm.status !== 0) die(`nm failed on ${lib}: ${nm.stderr}`);
    const exported = new Set(nm.stdout.split('\n').map((l) => l.trim().split(/\s+/).pop()));
    const missing = wanted.filter((s) => !exported.has(s));
    const extra = [...exported].filter((s) => s && !wanted.includes(s) && !s.startsWith('_'));
    if (missing.length) die(`${basename(lib)} does not export ${missing.join(', ')} (declared in bb.h)`);
    if (extra.length) die(`${basename(lib)} exports symbols that bb.h does not declare: ${extra.slice(0, 10).join(', ')}`);
  }
  log(`exports: ${wanted.length} bb_* symbols match bb.h`);

  const { default: koffi } = await import('koffi');
  for (const lib of [libCuda, libEmu].filter(existsSync)) {
    const l = koffi.load(lib);
    const f = (sig) => l.func(sig);
    const got = f('int bb_abi_version()')();
    if (got !== abi) die(`${basename(lib)}: ABI ${got}, bb.h says ${abi}`);
    const info = f('const char *bb_build_info()')();
    const f2b = f('void bb_f32_to_bf16(const float *src, _Out_ uint16_t *dst, size_t n)');
    const bits = new Uint16Array(4);
    f2b(new Float32Array([1, 1 + 2 ** -8, -2.5, NaN]), bits, 4);   // 1+2^-8 is a tie: rounds to even (1.0)
    const wantBits = [0x3f80, 0x3f80, 0xc020];
    if (wantBits.some((b, i) => bits[i] !== b) || (bits[3] & 0x7fc0) !== 0x7fc0) die(`${basename(lib)}: bb_f32_to_bf16 gave ${[...bits].map((b) => b.toString(16))}`);
    const plan = f('int bb_attention_plan(const int32_t *starts, int count, int block_q, _Out_ int32_t *tiles, int cap)');
    const tiles = new Int32Array(16);
    const nt = plan(new Int32Array([0, 17, 18, 50]), 3, 16, tiles, 8);
    if (nt !== 5 || tiles.slice(0, 10).join() !== '0,0,0,16,1,0,2,0,2,16') die(`${basename(lib)}: bb_attention_plan gave ${nt} tiles ${tiles.join()}`);
    const count = f('int bb_device_count()')();
    const lastError = f('const char *bb_last_error()');
    log(`${basename(lib)} loads: ${info}; devices: ${count >= 0 ? count : `none (${lastError()})`}`);
    if (f('int bb_is_emulated()')()) {
      // The emulation runs kernels: one matmul through the loaded (CPU) cuBLAS and one rmsnorm.
      if (f('int bb_init(int)')(0) !== 0) die(`emulation bb_init: ${lastError()}`);
      const malloc = f('void *bb_malloc(size_t)');
      const upload = f('int bb_upload(void *dst, int dt, const float *src, size_t n)');
      const download = f('int bb_download(_Out_ float *dst, const void *src, int dt, size_t n)');
      const matmul = f('int bb_matmul(void *out, const void *x, const void *w, int dt, int n, int k, int o)');
      const x = new Float32Array([1, 2, 3, 4, 5, 6]);          // [2, 3]
      const w = new Float32Array([1, 0, -1, 0.5, 0.5, 0.5]);   // [2, 3]
      const [dx, dw, dout] = [malloc(24), malloc(24), malloc(16)];
      upload(dx, 0, x, 6);
      upload(dw, 0, w, 6);
      if (matmul(dout, dx, dw, 0, 2, 3, 2) !== 0) die(`emulation bb_matmul: ${lastError()}`);
      const out = new Float32Array(4);
      download(out, dout, 0, 4);
      if (out.join() !== '-2,3,-2,7.5') die(`emulation bb_matmul gave ${out.join()}, want -2,3,-2,7.5`);
      log(`emulation: cuBLAS stand-in ${f('const char *bb_cublas_info()')()}, matmul ok`);
    }
  }
  log(`check passed in ${secs(performance.now() - t0)}`);
} else {
  log(`done in ${secs(performance.now() - t0)}`);
}
