// Options every command takes (registered as global in src/cli.ts). The experiment grid reads them too,
// so `data_dir` in an experiment file is checked against the same definition as `--data-dir`.
import type { Argv } from 'yargs';

export function withGlobalOptions<T>(y: Argv<T>) {
  return y
    .option('data-dir', { type: 'string', default: 'data', describe: 'folder holding the SentEval task files (see `bellm-bench data fetch`)', global: true })
    .option('quiet', { type: 'boolean', default: false, describe: 'no progress bars', global: true });
}
