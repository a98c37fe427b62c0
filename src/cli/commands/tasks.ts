// `bellm-bench tasks`: the registry with subsets and scored-pair counts, checked against --data-dir.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { CommandModule } from 'yargs';
import { UserError } from '../../errors.ts';
import { loadTask } from '../../tasks/load.ts';
import { TASK_ORDER, getTask } from '../../tasks/registry.ts';
import { COMMANDS } from '../command-list.ts';

/** The listing: loaded counts where the files are present, expected counts and what is missing otherwise. */
export function describeTasks(dataDir: string): string {
  const out: string[] = [];
  let missingTotal = 0;
  let failed = 0;
  for (const name of TASK_ORDER) {
    const spec = getTask(name);
    const missing = spec.subsets.flatMap((s) => s.files).filter((f) => !existsSync(join(dataDir, f)));
    missingTotal += missing.length;
    let counts = spec.subsets.map((s) => s.pairs);
    let status: string;
    if (missing.length) {
      status = `MISSING ${missing.length} file(s), e.g. ${join(dataDir, missing[0])}; expected counts shown`;
    } else {
      try {
        counts = loadTask(spec, dataDir).subsets.map((s) => s.pairs.length);
        status = 'loaded';
      } catch (err) {
        if (!(err instanceof UserError)) throw err;
        status = `UNREADABLE: ${err.message}; expected counts shown`;
        failed++;
      }
    }
    const main = spec.mainScore.subset === 'all' ? 'Spearman over all subsets pooled' : 'Spearman on test';
    out.push(`${spec.name} (${spec.label}): ${spec.expectedPairs} scored pairs, reports ${main} [${status}]`);
    spec.subsets.forEach((s, i) => {
      const scored = spec.scored.includes(s.name) ? '' : '  (not scored)';
      out.push(`  ${s.name.padEnd(20)}${String(counts[i]).padStart(6)}${scored}`);
    });
  }
  if (missingTotal) out.push(`${missingTotal} task file(s) missing under ${dataDir}: run \`bellm-bench data fetch\` or pass --data-dir <folder holding STS/ and SICK/>`);
  else if (failed) out.push(`${failed} task(s) could not be read under ${dataDir}: run \`bellm-bench data verify\`, then \`bellm-bench data fetch --force\``);
  else out.push(`all task files found under ${dataDir} (\`bellm-bench data verify\` checks their sha256)`);
  return out.join('\n');
}

export const tasksCommand: CommandModule<{ 'data-dir': string }, { 'data-dir': string }> = {
  ...COMMANDS.tasks,
  handler: (argv) => {
    process.stdout.write(`${describeTasks(argv['data-dir'])}\n`);
  },
};
