// Finding cuBLAS where only a Python environment has it (site-packages/nvidia/<pkg>/lib).
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { cublasInSitePackages, findCublas, pythonSitePackages } from '../../src/backend/cuda/cublas-path.ts';

/** A fake site-packages with the given files, and a fake python that prints it as its sys.path. */
function fakePython(files: string[]): { site: string; python: string } {
  const root = mkdtempSync(join(tmpdir(), 'bb-cublas-'));
  const site = join(root, 'site-packages');
  for (const f of files) {
    mkdirSync(join(site, f, '..'), { recursive: true });
    writeFileSync(join(site, f), '');
  }
  mkdirSync(site, { recursive: true });
  const python = join(root, 'python3');
  writeFileSync(python, `#!/bin/sh\necho '${JSON.stringify(['', join(root, 'missing'), site])}'\n`);
  chmodSync(python, 0o755);
  return { site, python };
}

test('the CUDA 13 wheel layout (nvidia/cu13/lib) is found, .13 before .12', (t) => {
  const { site, python } = fakePython(['nvidia/cublas/lib/libcublas.so.12', 'nvidia/cu13/lib/libcublas.so.13', 'nvidia/cu13/lib/libcublasLt.so.13']);
  t.deepEqual(pythonSitePackages(python), [site], 'only existing, non-empty sys.path entries');
  t.is(cublasInSitePackages([site]), join(site, 'nvidia/cu13/lib/libcublas.so.13'));
  const r = findCublas({ env: {}, loads: () => false, python });
  t.is(r.path, join(site, 'nvidia/cu13/lib/libcublas.so.13'));
  t.regex(r.how, /nvidia packages of .*python3/);
});

test('the CUDA 12 wheel layout (nvidia/cublas/lib) is found', (t) => {
  const { site, python } = fakePython(['nvidia/cublas/lib/libcublas.so.12']);
  t.is(findCublas({ env: {}, loads: () => false, python }).path, join(site, 'nvidia/cublas/lib/libcublas.so.12'));
});

test('BELLM_CUBLAS and the loader path come first: nothing is changed, python is not run', (t) => {
  const { python } = fakePython(['nvidia/cu13/lib/libcublas.so.13']);
  t.deepEqual(findCublas({ env: { BELLM_CUBLAS: '/x/libcublas.so.13' }, loads: () => { throw new Error('not asked'); }, python }),
    { path: null, how: 'BELLM_CUBLAS=/x/libcublas.so.13' });
  const asked: string[] = [];
  const r = findCublas({ env: {}, loads: (n) => (asked.push(n), n === 'libcublas.so.12'), python: '/nonexistent/python' });
  t.deepEqual(asked, ['libcublas.so.13', 'libcublas.so.12']);
  t.deepEqual(r, { path: null, how: 'libcublas.so.12 from the loader path' });
});

test('nothing found: the reason names what was searched; a missing python is not an error', (t) => {
  const { python } = fakePython(['nvidia/cudnn/lib/libcudnn.so.9']);
  const r = findCublas({ env: {}, loads: () => false, python });
  t.is(r.path, null);
  t.regex(r.how, /not on the loader path \(libcublas\.so\.13, libcublas\.so\.12\) nor under nvidia\/\*\/lib of .*python3's 1 sys\.path folders/);
  t.deepEqual(pythonSitePackages('/nonexistent/python3'), []);
  t.is(findCublas({ env: {}, loads: () => false, python: '/nonexistent/python3' }).path, null);
});
