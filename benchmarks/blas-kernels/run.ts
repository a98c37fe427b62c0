// The kernel x threads table: runs measure.ts under each OpenBLAS core type this CPU can run
// (Haswell, Zen, Sandybridge; SkylakeX and Cooperlake only with AVX-512; and the core type unset) with
// 1 and 2 threads, writes benchmarks/results/blas-kernels-<cpu>-<date>.json and prints the Markdown
// table the README shows. Usage: node --import=tsx benchmarks/blas-kernels/run.ts [--no-scores]
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';

const avx512 = /\bavx512f\b/.test(readFileSync('/proc/cpuinfo', 'utf8'));
const cores = ['Haswell', 'Zen', 'Sandybridge', ...(avx512 ? ['SkylakeX', 'Cooperlake'] : []), null];
const rows: Record<string, unknown>[] = [];
for (const core of cores) {
  for (const threads of [1, 2]) {
    const env: NodeJS.ProcessEnv = { ...process.env, OPENBLAS_NUM_THREADS: String(threads) };
    if (core) env.OPENBLAS_CORETYPE = core;
    else delete env.OPENBLAS_CORETYPE;
    const args = ['--import=tsx', new URL('./measure.ts', import.meta.url).pathname, ...(process.argv.includes('--no-scores') ? [] : ['--scores'])];
    const r = spawnSync(process.execPath, args, { env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`measure.ts (${core ?? 'unset'}, ${threads} threads) failed:\n${r.stderr}`);
    rows.push(JSON.parse(r.stdout.trim().split('\n').pop()!));
    process.stderr.write(`${core ?? '(unset)'} x ${threads} done\n`);
  }
}
const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
const date = new Date().toISOString().slice(0, 10);
const slug = cpu.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
const out = new URL(`../results/blas-kernels-${slug}-${date}.json`, import.meta.url).pathname;
writeFileSync(out, `${JSON.stringify({ cpu, date, node: process.version, rows }, null, 2)}\n`);

const e = (x: number) => (x === 0 ? '0' : x.toExponential(1));
const lines = [
  `| kernel (OPENBLAS_CORETYPE) | threads | rows invariant | self-check passes | largest causal leak (floor) | smallest bidirectional change / limit | embedding batch vs alone: max rel. diff | largest score move (Spearman x100) |`,
  '|---|--:|---|---|---|--:|--:|--:|',
];
for (const r of rows as { coretype: string; threads: number; config: string; rowInvariant: boolean; check: { passed: boolean; largestCausalLeak: number; largestFloor: number; smallestBidirectionalOverLimit: number }; embeddings: { largestRelDiff: number }; scores: Record<string, number> | null }[]) {
  const kernel = r.config.split(' ').find((w, i, a) => i > 0 && a[i - 1] === 'NO_AFFINITY') ?? '?';
  const move = r.scores ? Math.max(...Object.values(r.scores)) : NaN;
  lines.push(`| ${kernel} (${r.coretype}) | ${r.threads} | ${r.rowInvariant ? 'yes' : 'no'} | ${r.check.passed ? 'yes' : 'NO'} | ${e(r.check.largestCausalLeak)} (${e(r.check.largestFloor)}) | ${Math.round(r.check.smallestBidirectionalOverLimit).toLocaleString('en')} | ${e(r.embeddings.largestRelDiff)} | ${Number.isNaN(move) ? '-' : e(move)} |`);
}
console.log(`${cpu}, ${date}, ${(rows[0] as { config: string }).config.split(' ').slice(0, 2).join(' ')}, node ${process.version}; written to ${out}\n`);
console.log(lines.join('\n'));
