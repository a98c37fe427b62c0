#!/usr/bin/env node
// Builds the CUDA backend's native library (native/cuda -> native/cuda/build/), what `npm run build:cuda` runs.
//
//   node scripts/build-cuda.mjs            build what is out of date:
//                                            libbellm_cuda.so      nvcc, sm_80 + sm_90 (+ compute_90 PTX), static cudart
//                                            libbellm_cuda_emu.so  g++ -DBB_EMULATE: the same kernels run on the CPU
//                                            libcublas_emu.so      the CPU stand-in for cuBLAS the emulation loads
//   node scripts/build-cuda.mjs --check    CI: rebuild everything from scratch, check every kernel's resources
//                                          (as --resources), check the exported symbols against bb.h, load both
//                                          libraries through koffi and run host-side smoke checks (works without
//                                          a GPU and without cuBLAS)
//   options: --force (rebuild), --emu-only (no nvcc needed), --no-emu, --arch 80,90 (SASS targets),
//            -j N (parallel compiles, default: CPU count), --verbose (print every command),
//            --resources (recompile the .cu files with ptxas -v; fail if any kernel spills registers or has
//            a local-memory stack frame, else print kernels, registers and static smem per arch)
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
const opt = { check: false, force: false, emuOnly: false, noEmu: false, archs: ['80', '90'], jobs: cpus().length, verbose: false, resources: false };
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--check') opt.check = true;
  else if (a === '--force') opt.force = true;
  else if (a === '--emu-only') opt.emuOnly = true;
  else if (a === '--no-emu') opt.noEmu = true;
  else if (a === '--verbose') opt.verbose = true;
  else if (a === '--resources') opt.resources = true;
  else if (a === '--arch') opt.archs = (args[++i] ?? '').split(',').map((s) => s.trim().replace(/^sm_/, '')).filter(Boolean);
  else if (a === '-j') opt.jobs = Number(args[++i]);
  else if (a === '-h' || a === '--help') {
    const lines = readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n');
    console.log(lines.slice(1, lines.findIndex((l, i) => i > 0 && !l.startsWith('//'))).map((l) => l.replace(/^\/\/ ?/, '')).join('\n'));
    process.exit(0);
  } else die(`unknown argument ${a} (see --help)`);
}
if (opt.check) opt.force = opt.resources = true;
if (opt.resources && opt.emuOnly) die('--resources needs nvcc: it cannot go with --emu-only');
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

// filter(output) -> what of the compiler's output to show (warnings, or the error); it sees the output once.
function run(cmd, argv, label, filter = (out) => out) {
  return new Promise((resolveRun, rejectRun) => {
    if (opt.verbose) console.log(`  $ ${cmd} ${argv.join(' ')}`);
    const p = spawn(cmd, argv, { cwd: srcDir, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('error', (e) => rejectRun(new Error(`${label}: cannot run ${cmd}: ${e.message}`)));
    p.on('close', (code) => {
      out = filter(out);
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

// reportFlags change what the compiler prints, not what it builds: they are left out of the staleness hash.
// forceCompile recompiles every source (for what the compiler reports); outputFilter(source) makes run()'s filter.
async function buildTarget({ name, compiler, compileFlags, reportFlags = [], forceCompile = false, outputFilter, linkFlags, objDir, sources, lib }) {
  mkdirSync(objDir, { recursive: true });
  const key = createHash('sha256').update(JSON.stringify([compiler, compileFlags])).digest('hex').slice(0, 16);
  const objs = sources.map((s) => join(objDir, basename(s).replace(/\.(cu|cpp)$/, '.o')));
  const tasks = [];
  sources.forEach((s, i) => {
    const src = join(srcDir, s);
    if (!forceCompile && !stale(objs[i], [src], key) && mtime(objs[i]) > newestHeader) return;
    tasks.push(async () => {
      const t = performance.now();
      await run(compiler, [...compileFlags, ...reportFlags, '-c', src, '-o', objs[i]], `${name}: compiling ${s}`, outputFilter?.(s));
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

// ---- kernel resources (ptxas -v) ----
// ptxas -v prints, per SASS arch, a block that starts with "N bytes gmem", then for each kernel:
//   ptxas info    : Compiling entry function '_Z...' for 'sm_90'
//   ptxas info    : Function properties for _Z...
//       0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
//   ptxas info    : Used 80 registers, used 1 barriers, 128 bytes smem, 432 bytes cmem[0][, N bytes cumulative stack size]
// and "Function properties" (no "Compiling entry") for device functions that were not inlined.
// Returns one record per function and the output without the "ptxas info" lines (warnings, errors).
function parsePtxasVerbose(text, file) {
  const records = [];
  const rest = [];
  let section = [];
  let entry = null;       // the kernel being compiled
  let props = null;       // the function whose "Function properties" line came last
  const endSection = () => {
    const arch = section.find((r) => r.entry)?.arch ?? '?';
    for (const r of section) r.arch ??= arch;
    records.push(...section);
    section = [];
    entry = props = null;
  };
  for (const line of text.split('\n')) {
    let m;
    if (/^ptxas info\s*: .*\bbytes gmem\b/.test(line)) endSection();
    else if ((m = /^ptxas info\s*: Compiling entry function '([^']+)' for '([^']+)'/.exec(line))) {
      entry = { file, name: m[1], arch: m[2], entry: true, regs: null, smem: 0, stack: null, spillStores: null, spillLoads: null };
      section.push(entry);
    } else if ((m = /^ptxas info\s*: Function properties for (\S+)/.exec(line))) {
      props = entry?.name === m[1] ? entry : null;
      if (!props) section.push((props = { file, name: m[1], arch: null, entry: false, regs: null, smem: 0, stack: null, spillStores: null, spillLoads: null }));
    } else if ((m = /^\s*(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads/.exec(line))) {
      if (props) [props.stack, props.spillStores, props.spillLoads] = [Number(m[1]), Number(m[2]), Number(m[3])];
    } else if ((m = /^ptxas info\s*: Used (\d+) registers(.*)/.exec(line))) {
      if (entry) {
        entry.regs = Number(m[1]);
        entry.smem = Number(/(\d+) bytes smem/.exec(m[2])?.[1] ?? 0);
        const cumulative = Number(/(\d+) bytes cumulative stack size/.exec(m[2])?.[1] ?? 0);   // callees' frames too
        entry.stack = Math.max(entry.stack ?? 0, cumulative);
      }
    } else if (!/^ptxas info\s*:/.test(line)) rest.push(line);
  }
  endSection();
  return { records, rest: rest.join('\n') };
}

function demangle(names) {
  const r = spawnSync('c++filt', [], { input: names.join('\n'), encoding: 'utf8' });
  const out = r.status === 0 ? r.stdout.split('\n') : [];
  return new Map(names.map((n, i) => [n, out[i]?.trim() || n]));
}
// "void bb::k<float, 8>(float*, int)" -> "bb::k<float, 8>" (for the summary; failures name the whole signature)
function shortName(demangled) {
  let s = demangled.replace(/^void /, '');
  if (s.endsWith(')')) {
    let depth = 0;
    for (let i = s.length - 1; i >= 0; i--) {
      if (s[i] === ')') depth++;
      else if (s[i] === '(' && --depth === 0) return s.slice(0, i);
    }
  }
  return s;
}

// Fails (one line per function) on register spills or a local-memory stack frame; else one summary line per arch.
function checkResources(records) {
  const kernels = records.filter((r) => r.entry);
  if (!kernels.length) die('resources: ptxas -v reported no kernels (has its output format changed?)');
  const unread = records.find((r) => r.stack === null || r.spillStores === null || (r.entry && r.regs === null));
  if (unread) die(`resources: could not read ptxas -v's report for ${unread.name} (${unread.file}, ${unread.arch})`);
  const names = demangle([...new Set(records.map((r) => r.name))]);
  if (opt.verbose) {
    for (const r of [...records].sort((a, b) => a.arch.localeCompare(b.arch) || a.file.localeCompare(b.file) || a.name.localeCompare(b.name))) {
      console.log(`  ${r.arch} ${r.file}: ${shortName(names.get(r.name))}: ${r.entry ? `${r.regs} registers, ${r.smem} bytes smem, ` : ''}` +
        `${r.stack} bytes stack, ${r.spillStores}/${r.spillLoads} bytes spill stores/loads`);
    }
  }
  const bad = records.filter((r) => r.spillStores > 0 || r.spillLoads > 0 || r.stack > 0);
  for (const r of bad) {
    console.error(`build-cuda: resources: ${r.file} ${r.arch}: ${r.entry ? 'kernel' : 'device function'} ${names.get(r.name)}: ` +
      `${r.spillStores} bytes spill stores, ${r.spillLoads} bytes spill loads, ${r.stack} bytes stack frame`);
  }
  if (bad.length) {
    die(`resources: ${bad.length} function${bad.length > 1 ? 's' : ''} spill registers or use a local-memory stack frame ` +
      '(see above; must be 0: cut live values, or fix __launch_bounds__)');
  }
  const archs = [...new Set(kernels.map((k) => k.arch))].sort();
  const maxBy = (list, key) => list.reduce((a, b) => (b[key] > a[key] ? b : a));
  log(`resources: no spills, no stack frames; ` + archs.map((a) => {
    const ks = kernels.filter((k) => k.arch === a);
    const r = maxBy(ks, 'regs');
    const sm = maxBy(ks, 'smem');
    return `${a}: ${ks.length} kernels, max ${r.regs} registers (${shortName(names.get(r.name))}), max ${sm.smem} bytes static smem`;
  }).join('; '));
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
const resourceRecords = [];   // from ptxas -v, with --resources
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
    compileFlags: ['-O3', '-lineinfo', '-std=c++17', '-Xcompiler', '-fPIC,-Wall', ...gencode, `-DBB_ARCHS="${archNote}"`],
    ...(opt.resources && {
      reportFlags: ['-Xptxas', '-v'],
      forceCompile: true,
      outputFilter: (file) => (out) => {
        const { records, rest } = parsePtxasVerbose(out, file);
        resourceRecords.push(...records);
        return rest;
      },
    }),
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
if (opt.resources) checkResources(resourceRecords);

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
    const f2h = f('void bb_f32_to_f16(const float *src, _Out_ uint16_t *dst, size_t n)');
    const hbits = new Uint16Array(4);
    f2h(new Float32Array([1, 1 + 2 ** -11, 65520, -2.5]), hbits, 4);   // a tie to even, overflow to inf
    if ([0x3c00, 0x3c00, 0x7c00, 0xc100].some((b, i) => hbits[i] !== b)) die(`${basename(lib)}: bb_f32_to_f16 gave ${[...hbits].map((b) => b.toString(16))}`);
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
