// SICK-R: SICK/SICK_{train,trial,test_annotated}.txt, a header line then 5 tab-separated columns
// (pair_ID, sentence_A, sentence_B, relatedness_score, entailment_judgment); the test file has CRLF.
import type { SubsetSpec, TaskSpec } from './registry.ts';
import { loadTableFile } from './table-file.ts';
import type { LoadedSubset } from './types.ts';

export const loadSickTxt = (spec: TaskSpec, subset: SubsetSpec, dataDir: string): LoadedSubset =>
  loadTableFile(spec, subset, dataDir, 5);
