// The e5 preset against microsoft/unilm's e5 code at the commit it records (issue 24). Quoted from the
// fetched snapshot, microsoft/unilm 59d0483d235a338fcd57a1f90d4a199a39e0f401 (2024-04-23, "simplify batch
// creation for e5-mistral"), the newest commit of e5/utils.py:
//
//   e5/utils.py
//     def get_task_def_by_task_name_and_type(task_name: str, task_type: str) -> str:
//         if task_type in ['STS']:
//             return "Retrieve semantically similar text."
//     ...
//     def get_detailed_instruct(task_description: str) -> str:
//         if not task_description:
//             return ''
//
//         return 'Instruct: {}\nQuery: '.format(task_description)
//
//   e5/mteb_except_retrieval_eval.py (DenseEncoder.encode)
//     input_texts: List[str] = [self.prompt + s for s in sentences]
//     ... prompt: str = get_detailed_instruct(task_def)
//
// MTEB's task type of STS12-16, STSBenchmark and SICK-R is "STS", so every scored task gets that one
// definition. The functions are transcribed below; the preset's template is rendered through a
// tokenizer that returns the characters it is given, so the exact string the preset builds is compared
// with the official one, character for character.
import test from 'ava';
import { getPreset, preprocess, resolveSettings } from '../../../src/model/presets/presets.ts';
import { encodeWithTemplate, parseTemplate } from '../../../src/model/tokenize/template.ts';
import { TASK_SPECS } from '../../../src/tasks/registry.ts';

const UNILM_COMMIT = '59d0483d235a338fcd57a1f90d4a199a39e0f401';

function getTaskDefByTaskNameAndType(_taskName: string, taskType: string): string {
  if (taskType === 'STS') return 'Retrieve semantically similar text.';
  throw new Error(`not transcribed: task type ${taskType}`);
}
const getDetailedInstruct = (taskDescription: string): string => (taskDescription ? `Instruct: ${taskDescription}\nQuery: ` : '');

// MTEB's names of the scored tasks (all of task type "STS")
const MTEB_NAME: Record<string, string> = {
  STS12: 'STS12', STS13: 'STS13', STS14: 'STS14', STS15: 'STS15', STS16: 'STS16', STSBenchmark: 'STSBenchmark', SICKRelatedness: 'SICK-R',
};

/** A "tokenizer" whose ids are the code points of the text (BOS 1 first, EOS 2): the rendered string comes back whole. */
const BOS = 1, EOS = 2;
const codes = (s: string) => [...s].map((c) => c.codePointAt(0)! + 16);
const chars = {
  encode: (s: string) => [BOS, ...codes(s)], pieces: codes,
  bosId: BOS, eosId: EOS, vocabSize: 0x110000 + 16, description: 'code points', fingerprint: 'none', files: {},
} as unknown as Parameters<typeof encodeWithTemplate>[0];
const text = (ids: number[]) => String.fromCodePoint(...ids.map((i) => i - 16));

test('the e5 preset records the microsoft/unilm commit of e5/utils.py that it follows', (t) => {
  const origin = getPreset('e5').origin ?? [];
  const unilm = origin.find((o) => o.repository === 'microsoft/unilm');
  t.truthy(unilm);
  t.is(unilm!.commit, UNILM_COMMIT);
  t.true(unilm!.files.includes('e5/utils.py'));
});

test('the e5 preset builds, for every scored STS task, exactly the string e5/utils.py builds, then EOS', (t) => {
  const s = resolveSettings('e5', {});
  const template = parseTemplate(s.prompt);
  const scored = TASK_SPECS.map((task) => task.name);
  t.deepEqual([...scored].sort(), Object.keys(MTEB_NAME).sort(), 'every scored task has its MTEB name here');
  const sentences = ['A man is playing a guitar.', 'Is it "raining"?', 'no final punctuation', '  spaces  around ', 'unicode: café, 😀'];
  for (const name of scored) {
    const official = getDetailedInstruct(getTaskDefByTaskNameAndType(MTEB_NAME[name], 'STS'));
    for (const x of sentences) {
      const e = encodeWithTemplate(chars, { template, tokenize: s.tokenize ?? 'whole', maxLength: s.maxLength, instruction: s.instruction }, preprocess(x, s.preprocess));
      t.is(e.ids[0], BOS);
      t.is(e.ids.at(-1), EOS, 'EOS appended, as the e5-mistral model card does');
      t.is(text(e.ids.slice(1, -1)), official + x, `${name}: ${JSON.stringify(x)}`);
    }
  }
  t.is(s.instruction, 'Retrieve semantically similar text.');
});
