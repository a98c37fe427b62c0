// Where cuBLAS is: the library dlopen()s BELLM_CUBLAS if set, else libcublas.so.13/.12 from the
// loader path (native/cuda/cublas.cu). On machines where cuBLAS exists only inside a Python
// environment (PyTorch's pip wheels put it in site-packages/nvidia/<pkg>/lib, e.g. nvidia/cu13/lib or
// nvidia/cublas/lib), neither finds it; this module looks there and points BELLM_CUBLAS at the file.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export const CUBLAS_NAMES = ['libcublas.so.13', 'libcublas.so.12'] as const;

export interface CublasSearch {
  /** The file BELLM_CUBLAS should name, or null when the loader path already has cuBLAS (or nothing was found). */
  path: string | null;
  /** One line: where cuBLAS comes from, or everything that was tried. */
  how: string;
}

/** site-packages folders of a Python interpreter (sys.path entries that exist), [] if it does not run. */
export function pythonSitePackages(python: string): string[] {
  const r = spawnSync(python, ['-c', 'import sys, json; print(json.dumps([p for p in sys.path if p]))'], {
    encoding: 'utf8', timeout: 20_000, stdio: ['ignore', 'pipe', 'ignore'],
  });
  if (r.status !== 0 || !r.stdout) return [];
  try {
    const dirs = JSON.parse(r.stdout.trim().split('\n').pop()!) as unknown;
    return Array.isArray(dirs) ? dirs.filter((d): d is string => typeof d === 'string' && existsSync(d)) : [];
  } catch {
    return [];
  }
}

/** libcublas.so.13 (then .12) under <site>/nvidia/<any>/lib of the given site-packages folders. */
export function cublasInSitePackages(sites: readonly string[]): string | null {
  for (const name of CUBLAS_NAMES) {
    for (const site of sites) {
      const nv = join(site, 'nvidia');
      let pkgs: string[];
      try {
        pkgs = readdirSync(nv).sort();
      } catch {
        continue;
      }
      for (const pkg of pkgs) {
        const f = join(nv, pkg, 'lib', name);
        if (existsSync(f)) return f;
      }
    }
  }
  return null;
}

/**
 * The search, in the library's order: $BELLM_CUBLAS; the loader path (tried with `loads`, which
 * dlopen()s a name); the `nvidia` package folders of `python` (BELLM_PYTHON, default python3).
 */
export function findCublas(opts: { env?: NodeJS.ProcessEnv; loads: (name: string) => boolean; python?: string }): CublasSearch {
  const env = opts.env ?? process.env;
  if (env.BELLM_CUBLAS) return { path: null, how: `BELLM_CUBLAS=${env.BELLM_CUBLAS}` };
  for (const name of CUBLAS_NAMES) if (opts.loads(name)) return { path: null, how: `${name} from the loader path` };
  const python = opts.python ?? env.BELLM_PYTHON ?? 'python3';
  const sites = pythonSitePackages(python);
  const found = cublasInSitePackages(sites);
  if (found) return { path: found, how: `${found} (the nvidia packages of ${python})` };
  return {
    path: null,
    how: `not on the loader path (${CUBLAS_NAMES.join(', ')}) nor under nvidia/*/lib of ${python}'s ${sites.length} sys.path folders`,
  };
}
