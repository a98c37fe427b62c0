// `--formats mteb`: each configuration's task scores as MTEB TaskResult files,
// mteb/<model>/<revision>/<Task>.json (the layout of MTEB's results repository), with a note that the
// numbers are SentEval's and not interchangeable with MTEB's tasks of the same names.
import type { StsResults, TaskResult } from '../experiments/results/results.ts';
import { identityHash } from '../experiments/results/identity.ts';
import { getTask, taskFiles } from '../tasks/registry.ts';
import { distinctNames } from './tables.ts';

/** MTEB's task names for the SentEval tasks (mteb/tasks/sts/eng). */
export const MTEB_TASK_NAMES: Record<string, string> = {
  STS12: 'STS12', STS13: 'STS13', STS14: 'STS14', STS15: 'STS15', STS16: 'STS16', STSBenchmark: 'STSBenchmark', SICKRelatedness: 'SICK-R',
};

export const MTEB_NOTE = [
  'These files follow the layout of MTEB\'s TaskResult (task_name, dataset_revision, mteb_version, evaluation_time,',
  'scores.<split>[] = {main_score, cosine_spearman, cosine_pearson, hf_subset, languages}) so MTEB-based tools can read',
  'them, but the numbers are SentEval\'s and are NOT interchangeable with MTEB\'s results for tasks of the same names:',
  '- SICK-R here is SentEval\'s SICK test split (4,927 pairs); MTEB\'s SICK-R scores all 9,927 SICK pairs.',
  '- STS12-16 here are SentEval\'s files scored with SimCSE\'s `all` aggregation (Spearman over every subset\'s pairs',
  '  pooled, empty-gold pairs dropped, whitespace-normalized text); MTEB scores its own Hugging Face copies of the',
  '  tasks with its own loading. The pairs have not been matched one to one.',
  '- STSBenchmark here is SentEval\'s tokenized sts-test.csv (1,379 pairs).',
  'dataset_revision is a hash of the SentEval files bellm-bench read (not a Hugging Face dataset revision);',
  'mteb_version is null (MTEB did not run); evaluation_time is null (bellm-bench embeds the sentences of all tasks',
  'at once: see bellm_bench.embedSecondsAllTasks). A dev run\'s scores are under "validation".',
].join('\n');

/** Longest MTEB folder name kept whole (MTEB's own model folders, org__name, are far shorter). */
export const MTEB_NAME_MAX = 100;

/** A folder name from a model id or label: '/' as MTEB writes it ('__'), other unsafe characters '_'. */
export function mtebModelName(s: string): string {
  const name = s.replace(/\//g, '__').replace(/[^\w.+=-]+/g, '_').replace(/^_+|_+$/g, '') || 'model';
  // "." and ".." are not folder names but the folder itself and its parent
  return /^\.+$/.test(name) ? name.replace(/\./g, '_') : name;
}

/** Stands for the export's mteb/README.md among the folder names: a label named "README.md" must not take its name. */
const README_KEY = '\u0000README';

/** MTEB folder names for labels (or a revision): mtebModelName, made distinct and short by distinctNames. */
export function mtebFolderNames(labels: readonly string[]): Map<string, string> {
  return distinctNames([...labels, README_KEY], (k) => (k === README_KEY ? 'README.md' : mtebModelName(k)), MTEB_NAME_MAX);
}

/** Pearson beside the main Spearman: over all pairs pooled (STS12-16), or of the scored split. */
const mainPearson = (t: TaskResult, split: 'test' | 'dev'): number =>
  (getTask(t.task).mainScore.subset === 'all' ? t.all : t.subsets.find((s) => s.name === split) ?? t.all).pearson;

export interface MtebFile { path: string; json: unknown }

/** One TaskResult file per task of each configuration, under mteb/<label>/<revision>/. */
export function mtebFiles(runs: readonly { file: string; results: StsResults }[]): MtebFile[] {
  const out: MtebFile[] = [];
  // one folder per label: labels that give one folder name ("k 1", "k_1"; "A" and "a" on case-insensitive
  // file systems) or a name too long for the file system get a hash of the exact label each
  const folders = mtebFolderNames(runs.map((r) => r.results.label));
  for (const { file, results: r } of runs) {
    const revision = (r.provenance?.model as { revision?: string } | undefined)?.revision ?? 'no_revision_available';
    const dir = `mteb/${folders.get(r.label)!}/${mtebFolderNames([String(revision)]).get(String(revision))!}`;
    const split = r.split === 'dev' ? 'validation' : 'test';
    for (const t of r.tasks) {
      const name = MTEB_TASK_NAMES[t.task];
      if (!name) continue;
      const files = taskFiles([getTask(t.task)]);
      const sums = r.provenance?.data?.checksums ?? {};
      const have = files.filter((f) => f in sums);
      out.push({
        path: `${dir}/${name}.json`,
        json: {
          dataset_revision: have.length ? `senteval-sha256:${identityHash(Object.fromEntries(have.map((f) => [f, sums[f]]))).slice(0, 16)}` : 'senteval:unknown',
          task_name: name,
          mteb_version: null,
          scores: {
            [split]: [{
              main_score: t.main, cosine_spearman: t.main, cosine_pearson: mainPearson(t, r.split === 'dev' ? 'dev' : 'test'),
              hf_subset: 'default', languages: ['eng-Latn'],
            }],
          },
          evaluation_time: null,
          kg_co2_emissions: null,
          bellm_bench: {
            note: 'SentEval numbers, not interchangeable with MTEB\'s task of the same name: see mteb/README.md',
            configuration: r.label, results_file: file, aggregation: getTask(t.task).mainScore.subset === 'all' ? 'all (SimCSE)' : split,
            pairs: t.pairs?.length ?? null, embedSecondsAllTasks: r.timings?.embedSeconds ?? null,
          },
        },
      });
    }
  }
  return out;
}
