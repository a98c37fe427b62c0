// Options every command takes (registered as global in src/cli.ts). The experiment grid reads them too,
// so `data_dir` in an experiment file is checked against the same definition as `--data-dir`.
import type { Argv } from 'yargs';

/** --data-dir's default: BELLM_DATA_DIR when set (and not empty), else data/. */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.BELLM_DATA_DIR || 'data';
}

export function withGlobalOptions<T>(y: Argv<T>) {
  return y
    .option('data-dir', { type: 'string', default: defaultDataDir(), describe: 'folder holding the SentEval task files (see `bellm-bench data fetch`); default: $BELLM_DATA_DIR, else data/', global: true })
    .option('quiet', { type: 'boolean', default: false, describe: 'no progress bars', global: true });
}
