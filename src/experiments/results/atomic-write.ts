// Writing a file so that readers see the old or the new version, never half of one: a temporary file
// unique to this process (two writers never share it), then a rename over the target.
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { UserError } from '../../errors.ts';

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
