// The STS task registry: one TaskSpec literal per task, checked once at load (SentEval's engine.py list
// plus MTEB-style metadata). Counts are SentEval's scored pairs; a loader that finds others fails.
import { UserError } from '../errors.ts';

export type TaskName = 'STS12' | 'STS13' | 'STS14' | 'STS15' | 'STS16' | 'STSBenchmark' | 'SICKRelatedness';
/** One loader per file family (src/tasks/<family>.ts). */
export type TaskFamily = 'sts-input-gs' | 'stsb-csv' | 'sick-txt';

export interface SubsetSpec {
  name: string;                 // 'MSRpar', or a split: 'train' | 'dev' | 'test'
  /** Files relative to the data dir: [input, gold] for sts-input-gs, [table] otherwise. */
  files: readonly string[];
  pairs: number;                // scored pairs SentEval loads (empty gold lines dropped)
}

export interface TaskSpec {
  name: TaskName;
  label: string;                // table column: 'STS12', 'STS-B', 'SICK-R'
  aliases: readonly string[];   // accepted case-insensitively besides name and label
  family: TaskFamily;
  dir: string;                  // relative to the data dir
  filePattern: string;          // documentation of the files, e.g. 'STS.input.{subset}.txt + STS.gs.{subset}.txt'
  /** 0-based tab-separated columns; gold 'gs-file' = one score per line in the gold file. */
  columns: { s1: number; s2: number; gold: number | 'gs-file' };
  headerLines: number;          // lines skipped before the first pair
  goldRange: readonly [number, number];
  subsets: readonly SubsetSpec[];
  /** Subsets whose pairs count for all/mean/wmean and the reported number. */
  scored: readonly string[];
  /** The reported number: Spearman over all scored pairs pooled ('all'), or of one split ('test'; 'dev' with --split dev). */
  mainScore: { subset: 'all' | 'test' | 'dev'; metric: 'spearman' };
  expectedPairs: number;        // scored pairs in total (SentEval)
  note?: string;
}

const stsYear = (name: TaskName, year: number, subsets: [string, number][], note?: string): TaskSpec => {
  const dir = `STS/${name}-en-test`;
  return {
    name, label: name, aliases: [`STS${year}`], family: 'sts-input-gs', dir,
    filePattern: 'STS.input.{subset}.txt + STS.gs.{subset}.txt',
    columns: { s1: 0, s2: 1, gold: 'gs-file' }, headerLines: 0, goldRange: [0, 5],
    subsets: subsets.map(([s, pairs]) => ({ name: s, files: [`${dir}/STS.input.${s}.txt`, `${dir}/STS.gs.${s}.txt`], pairs })),
    scored: subsets.map(([s]) => s),
    mainScore: { subset: 'all', metric: 'spearman' },
    expectedPairs: subsets.reduce((a, [, n]) => a + n, 0),
    ...(note ? { note } : {}),
  };
};

const splitTask = (
  name: TaskName, label: string, aliases: string[], family: TaskFamily, dir: string,
  files: [string, string, string], pairs: [number, number, number],
  columns: TaskSpec['columns'], headerLines: number, goldRange: [number, number], filePattern: string,
): TaskSpec => ({
  name, label, aliases, family, dir, filePattern, columns, headerLines, goldRange,
  subsets: (['train', 'dev', 'test'] as const).map((s, i) => ({ name: s, files: [`${dir}/${files[i]}`], pairs: pairs[i] })),
  scored: ['test'],
  mainScore: { subset: 'test', metric: 'spearman' },
  expectedPairs: pairs[2],
});

export const TASK_SPECS: readonly TaskSpec[] = [
  stsYear('STS12', 2012, [['MSRpar', 750], ['MSRvid', 750], ['SMTeuroparl', 459], ['surprise.OnWN', 750], ['surprise.SMTnews', 399]],
    'STS.gs.ALL.txt (the five gold files concatenated) is not read.'),
  // SMT is missing: its input is not redistributed (license), so STS.gs.SMT.txt has no STS.input.SMT.txt.
  stsYear('STS13', 2013, [['FNWN', 189], ['headlines', 750], ['OnWN', 561]], 'without SMT (license), as in SentEval'),
  stsYear('STS14', 2014, [['deft-forum', 450], ['deft-news', 300], ['headlines', 750], ['images', 750], ['OnWN', 750], ['tweet-news', 750]]),
  stsYear('STS15', 2015, [['answers-forums', 375], ['answers-students', 750], ['belief', 375], ['headlines', 750], ['images', 750]],
    'most input lines have no gold score and are dropped'),
  stsYear('STS16', 2016, [['answer-answer', 254], ['headlines', 249], ['plagiarism', 230], ['postediting', 244], ['question-question', 209]],
    'most input lines have no gold score and are dropped'),
  splitTask('STSBenchmark', 'STS-B', ['STSB', 'STS-B'], 'stsb-csv', 'STS/STSBenchmark',
    ['sts-train.csv', 'sts-dev.csv', 'sts-test.csv'], [5749, 1500, 1379],
    { s1: 5, s2: 6, gold: 4 }, 0, [0, 5], 'sts-{train,dev,test}.csv (SentEval-tokenized; not stsbenchmark/*.csv)'),
  splitTask('SICKRelatedness', 'SICK-R', ['SICK-R', 'SICK', 'SICKR'], 'sick-txt', 'SICK',
    ['SICK_train.txt', 'SICK_trial.txt', 'SICK_test_annotated.txt'], [4500, 500, 4927],
    { s1: 1, s2: 2, gold: 3 }, 1, [1, 5], 'SICK_{train,trial,test_annotated}.txt (trial is the dev split)'),
];

/** Table and evaluation order (SimCSE's evaluation.py). */
export const TASK_ORDER: readonly TaskName[] = ['STS12', 'STS13', 'STS14', 'STS15', 'STS16', 'STSBenchmark', 'SICKRelatedness'];

export interface Registry {
  specs: readonly TaskSpec[];
  /** Resolve a name, label or alias (case-insensitive); unknown -> UserError with the list and closest match. */
  get(name: string): TaskSpec;
}

/** Build a registry; duplicate names (or aliases colliding with other tasks) throw. */
export function defineRegistry(specs: readonly TaskSpec[]): Registry {
  const byKey = new Map<string, TaskSpec>();
  for (const spec of specs) {
    for (const key of new Set([spec.name, spec.label, ...spec.aliases].map((k) => k.toLowerCase()))) {
      const other = byKey.get(key);
      if (other) throw new Error(`task registry: "${key}" names both ${other.name} and ${spec.name}`);
      byKey.set(key, spec);
    }
  }
  return {
    specs,
    get(name: string): TaskSpec {
      const spec = byKey.get(name.trim().toLowerCase());
      if (spec) return spec;
      const guess = closest(name.toLowerCase(), [...byKey.keys()]);
      const hint = guess ? ` (did you mean ${byKey.get(guess)!.name}?)` : '';
      throw new UserError(`unknown task "${name}"${hint}; valid tasks: ${specs.map((s) => s.name).join(', ')} (aliases: STS-B, SICK-R, ...)`);
    },
  };
}

export const REGISTRY = defineRegistry(TASK_SPECS);
export const getTask = (name: string): TaskSpec => REGISTRY.get(name);

/** Every file the loaders read, relative to the data dir, in registry order. */
export const taskFiles = (specs: readonly TaskSpec[] = TASK_SPECS): string[] =>
  specs.flatMap((t) => t.subsets.flatMap((s) => s.files));

/** The closest key by edit distance, if it is within half the query's length. */
function closest(query: string, keys: string[]): string | null {
  let best: string | null = null;
  let bestD = Infinity;
  for (const k of keys) {
    const d = editDistance(query, k);
    if (d < bestD) [best, bestD] = [k, d];
  }
  return bestD <= Math.max(2, Math.ceil(query.length / 2)) ? best : null;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}
