// sbatch scripts: the array (one task per shard, `run --shard auto`, %A_%a logs), the merge job after it
// (afterok), their submission; and `bellm-bench slurm --submit` against a stand-in sbatch.
import test from 'ava';
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { UserError } from '../../src/errors.ts';
import { arrayScript, checkSlurmOptions, mergeScript, parseJobId, shellQuote, submitScript, type SlurmOptions } from '../../src/experiments/grid/slurm.ts';
import { tempDir } from '../helpers/damaged.ts';
import { fixture, repoRoot, sentevalDir } from '../helpers/shared.ts';

const base: SlurmOptions = {
  name: 'ablation', experiment: '/home/u/exp/ablation.yaml', out: '/scratch/u/ablation', workdir: '/home/u/proj',
  node: '/usr/bin/node', bin: '/home/u/proj/bin/bellm-bench.js', shards: 3, gpusPerTask: 1,
};
const directives = (s: string) => s.split('\n').filter((l) => l.startsWith('#SBATCH ')).map((l) => l.slice(8));

test('the array script: one task per shard running run --shard auto, %A_%a logs, the resources asked for', (t) => {
  const s = arrayScript({ ...base, parallelism: 2, partition: 'gpu', time: '12:00:00', account: 'lab', cpusPerTask: 8, mem: '64G' });
  t.deepEqual(directives(s), [
    '--job-name=bb-ablation', '--array=0-2%2', '--output=/scratch/u/ablation/slurm/logs/%x-%A_%a.out', '--gpus-per-task=1',
    '--cpus-per-task=8', '--mem=64G', '--chdir=/home/u/proj', '--ntasks=1', '--partition=gpu', '--account=lab', '--time=12:00:00',
  ]);
  t.true(s.startsWith('#!/bin/bash\n'));
  t.regex(s, /\nexec \/usr\/bin\/node \/home\/u\/proj\/bin\/bellm-bench\.js run \/home\/u\/exp\/ablation\.yaml --out \/scratch\/u\/ablation --shard auto\n/);
  // every #SBATCH line comes before the first command (sbatch stops reading directives there)
  const lines = s.split('\n');
  const lastDirective = lines.map((l, i) => (l.startsWith('#SBATCH') ? i : -1)).reduce((a, b) => Math.max(a, b));
  t.true(lines.findIndex((l) => l && !l.startsWith('#')) > lastDirective);
  t.regex(arrayScript({ ...base, dataDir: '/data/senteval' }), / --out \/scratch\/u\/ablation --data-dir \/data\/senteval --shard auto\n/);
  const minimal = directives(arrayScript({ ...base, gpusPerTask: 0, shards: 1 }));
  t.deepEqual(minimal, ['--job-name=bb-ablation', '--array=0-0', '--output=/scratch/u/ablation/slurm/logs/%x-%A_%a.out', '--chdir=/home/u/proj', '--ntasks=1']);
});

test('the merge job runs run --merge without GPUs; submit.sh makes it depend on the array (afterok)', (t) => {
  const m = mergeScript({ ...base, partition: 'gpu', time: '1:00:00' });
  t.deepEqual(directives(m), ['--job-name=bb-ablation-merge', '--output=/scratch/u/ablation/slurm/logs/%x-%j.out', '--chdir=/home/u/proj', '--ntasks=1', '--partition=gpu', '--time=1:00:00']);
  t.regex(m, /\nexec \/usr\/bin\/node \S+ run \/home\/u\/exp\/ablation\.yaml --out \/scratch\/u\/ablation --merge\n/);
  const sub = submitScript(base, '/s/array.sbatch', '/s/merge.sbatch');
  t.regex(sub, /array=\$\(sbatch --parsable \/s\/array\.sbatch\)/);
  t.regex(sub, /merge=\$\(sbatch --parsable --dependency=afterok:\$array --kill-on-invalid-dep=yes \/s\/merge\.sbatch\)/);
  for (const script of [arrayScript(base), m, sub]) t.notThrows(() => execFileSync('bash', ['-n'], { input: script }));
});

test('paths are quoted for bash; options sbatch would reject are one-line errors', (t) => {
  t.is(shellQuote('/a/b-c_d.yaml'), '/a/b-c_d.yaml');
  t.is(shellQuote("/a/it's here"), `'/a/it'\\''s here'`);
  t.is(execFileSync('bash', ['-c', `printf %s ${shellQuote("/a/it's $HOME `x`")}`], { encoding: 'utf8' }), "/a/it's $HOME `x`");
  const s = arrayScript({ ...base, experiment: '/home/u/my exps/a.yaml' });
  t.regex(s, / run '\/home\/u\/my exps\/a\.yaml' --out/);
  const bad: [Partial<SlurmOptions>, RegExp][] = [
    [{ shards: 0 }, /--shards 0/], [{ shards: 1001 }, /--shards 1001: give an integer from 1 to 1000/], [{ shards: 2.5 }, /--shards/],
    [{ parallelism: 0 }, /--array-parallelism/], [{ gpusPerTask: -1 }, /--gpus-per-task/],
    [{ time: '12h' }, /--time 12h/], [{ mem: 'lots' }, /--mem lots/], [{ partition: 'a b' }, /--partition/],
    [{ out: '/scratch/my out' }, /output folder .* holds spaces/], [{ out: '/scratch/100%' }, /output folder/], [{ workdir: "/home/o'brien" }, /working directory/],
  ];
  for (const [o, re] of bad) t.throws(() => checkSlurmOptions({ ...base, ...o }), { instanceOf: UserError, message: re });
  for (const time of ['90', '12:00:00', '2-00:00:00', '1-12', '30:00']) t.notThrows(() => checkSlurmOptions({ ...base, time }));
});

test('job ids from sbatch --parsable', (t) => {
  t.is(parseJobId('4242\n'), '4242');
  t.is(parseJobId('4242;cluster2\n'), '4242');
  t.throws(() => parseJobId('sbatch: error: Batch job submission failed'), { instanceOf: UserError });
});

test('bellm-bench slurm writes the scripts; --submit submits the array, then the merge after it, and prints both ids', async (t) => {
  const dir = tempDir(t, 'bb-slurm-');
  const exp = join(dir, 'exp.yaml');
  writeFileSync(exp, `name: tiny\ndata_dir: ${sentevalDir}\ntasks: [STSBenchmark]\nruns:\n  - model: ${fixture('tiny-llama')}\n    billm_start_index: [null, 2, 3]\n  - degrade: {model: ${fixture('tiny-llama')}, layers: 0..4}\n`);
  // A stand-in sbatch on PATH: records its arguments, answers with job ids 101 and 102.
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'sbatch'), `#!/bin/bash\necho "$*" >> ${dir}/sbatch.log\nn=$(wc -l < ${dir}/sbatch.log)\necho "$((100 + n));cluster"\n`);
  chmodSync(join(bin, 'sbatch'), 0o755);
  const run = (args: string[]) => promisify(execFile)(process.execPath, [join(repoRoot, 'bin/bellm-bench.js'), ...args], {
    cwd: dir, env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
  });
  const out = join(dir, 'out');
  const { stdout: written } = await run(['slurm', exp, '--out', out, '--shards', '2', '--partition', 'gpu', '--time', '04:00:00', '--quiet']);
  t.regex(written, /submit both jobs with:\n {2}bash \S+\/out\/slurm\/submit\.sh/);
  const array = readFileSync(join(out, 'slurm', 'array.sbatch'), 'utf8');
  t.deepEqual(directives(array).slice(0, 4), ['--job-name=bb-tiny', '--array=0-1', `--output=${out}/slurm/logs/%x-%A_%a.out`, '--gpus-per-task=1']);
  t.true(directives(array).includes(`--chdir=${dir}`));
  // the command line's --data-dir (here the default, data/ in the working directory) goes with it
  t.regex(array, new RegExp(`run ${exp} --out ${out} --data-dir ${dir}/data --shard auto\\n`));
  t.is(JSON.parse(readFileSync(join(out, 'experiment.json'), 'utf8')).name, 'tiny');

  const { stdout } = await run(['slurm', exp, '--out', out, '--shards', '2', '--submit', '--quiet']);
  t.regex(stdout, /^submitted array job 101 \(2 tasks\) and merge job 102 \(after the array succeeds\)$/m);
  t.deepEqual(readFileSync(join(dir, 'sbatch.log'), 'utf8').trim().split('\n'), [
    `--parsable ${out}/slurm/array.sbatch`,
    `--parsable --dependency=afterok:101 --kill-on-invalid-dep=yes ${out}/slurm/merge.sbatch`,
  ]);
  // the scripts were written by `slurm`, so a `run` into the same folder is accepted
  const other = join(dir, 'other.yaml');
  writeFileSync(other, `name: other\nruns:\n  - model: ${fixture('tiny-llama')}\n`);
  const e = await t.throwsAsync(run(['slurm', other, '--out', out])) as unknown as { code: number; stderr: string };
  t.is(e.code, 2);
  t.regex(e.stderr, /holds the outputs of experiment "tiny" .* not "other"; pass another --out/);
});
