// The CUDA library's lifecycle on the emulation build: bb_shutdown destroys the cuBLAS handle (also at
// process exit), refuses while buffers are live, and bb_init works again after it. Its own file: it
// shuts the library down, which the parity suite's backends must not see.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import test from 'ava';
import koffi from 'koffi';
import { BUILD_DIR, libraryPath, loadCudaLibrary, probeCuda } from '../../src/backend/cuda/lib.ts';
import { repoRoot } from '../helpers/shared.ts';

const emuPath = libraryPath('emu');
const standIn = join(BUILD_DIR, 'libcublas_emu.so');
const liveHandles = koffi.load(standIn).func('int cublasEmuLiveHandles()') as () => number;

test.serial('bb_shutdown destroys the cuBLAS handle, refuses while buffers are live, and bb_init works again', (t) => {
  const probe = probeCuda({ kind: 'emu' });
  t.true(probe.ok, probe.reason);
  const lib = loadCudaLibrary('emu', emuPath);
  t.is(liveHandles(), 1);
  t.regex(lib.cublasInfo(), /libcublas_emu\.so/);

  const p = lib.malloc(1024)!;
  t.truthy(p);
  t.not(lib.shutdown(0), 0);
  t.regex(lib.lastError(), /1 buffers \(1024 bytes\) .* still live; free them first/);
  t.is(liveHandles(), 1, 'a refused shutdown keeps the handle');

  t.is(lib.free(p), 0);
  t.is(lib.shutdown(0), 0, lib.lastError());
  t.is(liveHandles(), 0);
  t.is(lib.cublasInfo(), '');
  t.is(lib.malloc(64), null, 'ops refuse after shutdown');
  t.regex(lib.lastError(), /bb_init has not succeeded/);
  t.is(lib.shutdown(0), 0, 'a second shutdown is a no-op');

  t.is(lib.init(0), 0, lib.lastError());
  t.is(liveHandles(), 1);
  t.truthy(lib.malloc(64), lib.lastError());
  t.is(lib.shutdown(1), 0, 'free_all frees live buffers, then shuts down');
  t.is(liveHandles(), 0);
  t.is(lib.init(0), 0);
});

test.serial('the handle is destroyed when the process exits, with weights still uploaded', (t) => {
  const script = `
    import koffi from 'koffi';
    import { CudaBackend } from './src/backend/cuda/backend.ts';
    const live = koffi.load(${JSON.stringify(standIn)}).func('int cublasEmuLiveHandles()');
    const b = new CudaBackend({ library: 'emu', precision: 'fp32' });
    b.uploadMatrix({ rows: 4, cols: 8, data: new Float32Array(32).fill(1) });
    console.log('before exit: ' + live());
    process.on('exit', () => console.log('after the hook: ' + live()));
  `;
  const r = spawnSync(process.execPath, ['--import=tsx', '--input-type=module', '-e', script], { cwd: repoRoot, encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /before exit: 1\nafter the hook: 0\n/);
});
