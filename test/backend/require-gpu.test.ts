// BELLM_REQUIRE_GPU=1 (what scripts/gpu/remote.sh sets): on a machine without a GPU, the GPU tests
// must fail, not skip. Runs ava on the two suites, limited to their GPU entries, as a child process.
import { spawnSync } from 'node:child_process';
import test from 'ava';
import { repoRoot } from '../helpers/shared.ts';
import { probeCuda } from '../../src/backend/cuda/lib.ts';

const gpuHere = probeCuda({ kind: 'cuda' }).ok;

function ava(file: string, match: string, requireGpu: boolean) {
  const env = { ...process.env, BELLM_REQUIRE_GPU: requireGpu ? '1' : '' };
  return spawnSync(process.execPath, ['node_modules/ava/entrypoints/cli.mjs', file, '--match', match], { cwd: repoRoot, env, encoding: 'utf8', timeout: 120_000 });
}

test('without a GPU, BELLM_REQUIRE_GPU=1 turns the GPU parity suites into failures (exit 1); unset they skip (exit 0)', (t) => {
  if (gpuHere) return t.pass('a GPU is here: the suites run for real');
  for (const [file, match] of [['test/backend/cuda.test.ts', 'gpu parity suite*'], ['test/backend/parity.test.ts', 'cuda bf16: matmul*']]) {
    const required = ava(file, match, true);
    t.is(required.status, 1, `${file} with BELLM_REQUIRE_GPU=1:\n${required.stdout}${required.stderr}`);
    t.regex(required.stdout + required.stderr, /BELLM_REQUIRE_GPU=1 but/);
    const plain = ava(file, match, false);
    t.is(plain.status, 0, `${file} without it:\n${plain.stdout}${plain.stderr}`);
  }
});
