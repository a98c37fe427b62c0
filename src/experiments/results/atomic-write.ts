// Writing a file so that readers see the old or the new version, never half of one: a temporary file
// unique to this process (two writers never share it), then a rename over the target.
import { lstatSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { UserError } from '../../errors.ts';

const errCode = (e: unknown): string => (e as NodeJS.ErrnoException).code ?? (e as Error).message;

/**
 * Why `dir` cannot be an output folder as it stands (a file, or a link to nothing, at it or above it),
 * or null when it is a folder or can be made one. Reads only.
 */
export function folderProblem(dir: string): string | null {
  for (let p = resolve(dir); ; p = dirname(p)) {
    let st: Stats;
    try {
      st = lstatSync(p);
    } catch (e) {
      if (errCode(e) === 'ENOTDIR') continue;   // a file above it: found and named on the way up
      if (errCode(e) !== 'ENOENT') return `${p} cannot be read (${errCode(e)})`;
      if (dirname(p) === p) return null;
      continue;
    }
    if (st.isSymbolicLink()) {
      try {
        st = statSync(p);
      } catch {
        return `${p} is a link to nothing`;
      }
    }
    return st.isDirectory() ? null : `${p} is not a folder`;
  }
}

/**
 * Makes `dir` and its missing parents, one level at a time, with one-line errors naming `flag`. (Node's
 * recursive mkdir never returns for some paths, e.g. under /proc, and fails with a stack trace on others.)
 */
export function makeFolder(dir: string, flag: string, message?: (why: string) => string): void {
  const cannot = message ?? ((why: string) => `${flag} ${dir} cannot be created (${why}); pass another folder`);
  const problem = folderProblem(dir);
  if (problem) throw new UserError(!message && problem.startsWith(`${resolve(dir)} `) ? `${flag} ${dir}: ${problem}; pass another folder` : cannot(problem));
  const missing: string[] = [];
  for (let p = resolve(dir); ; p = dirname(p)) {
    try {
      lstatSync(p);
      break;
    } catch {
      missing.push(p);
      if (dirname(p) === p) break;
    }
  }
  for (const p of missing.reverse()) {
    try {
      mkdirSync(p);
    } catch (e) {
      if (errCode(e) === 'EEXIST' && statSync(p).isDirectory()) continue; // made by a concurrent run
      throw new UserError(cannot(`${errCode(e)} at ${p}`));
    }
  }
}

/** Atomic write of text; a failure removes the temporary file and rethrows. */
export function writeFileAtomic(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** A results file (JSON), written atomically; a failure is one line naming the file and the fix. */
export function writeAtomic(path: string, data: unknown): void {
  try {
    writeFileAtomic(path, JSON.stringify(data, null, 1));
  } catch (e) {
    throw new UserError(`${path}: cannot write the results (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); free space or pass another --out`);
  }
}
