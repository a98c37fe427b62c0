// Issue 9: a 64-token cap would cut the end of the prompt of the longest STS sentences, so the STS
// preset keeps 512 tokens; the degradation preset truncates at 64 like eval_degradation.py.
import test from 'ava';
import { tokenizeAll } from '../../src/model/embed/embedder.ts';
import { PROMPTS, resolveSettings } from '../../src/model/presets/presets.ts';
import { loadTokenizer } from '../../src/model/tokenize/tokenizer.ts';
import { allSentences, loadTask } from '../../src/tasks/load.ts';
import { TASK_ORDER } from '../../src/tasks/registry.ts';
import { fixture, goldens, sentevalDir } from '../helpers/shared.ts';

const tok = loadTokenizer(fixture('tiny-llama'));

test('92 of the scored STS sentences exceed 64 tokens with the BeLLM prompt (longest 104); bellm-sts keeps them whole', (t) => {
  // Scored sentences as SentEval embeds them: every pair's two sentences (37,700), duplicates included.
  const tasks = TASK_ORDER.map((n) => loadTask(n, sentevalDir));
  const scored = tasks.flatMap((task) => task.subsets.filter((s) => task.spec.scored.includes(s.name)).flatMap((s) => s.pairs.flatMap((p) => [p.s1, p.s2])));
  t.is(scored.length, 37700);
  const sts = resolveSettings('bellm-sts', {});
  t.is(sts.maxLength, 512);
  const unique = [...new Set(scored)];
  const ids = tokenizeAll(tok, unique, sts);
  const len = new Map(unique.map((s, i) => [s, ids[i].length]));
  t.is(scored.filter((s) => len.get(s)! > 64).length, 92);
  t.is(Math.max(...ids.map((x) => x.length)), 104);
  // The prompt's closing tokens ` is:"` (ids 338, 6160, as in every golden prompt) survive in each.
  const tail = goldens().sentencepieceIds[0].slice(-2);
  t.deepEqual(tail, [338, 6160]);
  for (const x of ids) t.deepEqual(x.slice(-2), tail);
  t.is(allSentences(tasks[0]).length > 0, true);

  // Under bellm-degrade (max_length 64) the longest one is cut to 64 tokens and loses its prompt end.
  const longest = unique[ids.findIndex((x) => x.length === 104)];
  const deg = resolveSettings('bellm-degrade', {});
  t.is(deg.prompt, PROMPTS.summarize);
  const [cut] = tokenizeAll(tok, [longest], deg);
  t.is(cut.length, 64);
  t.notDeepEqual(cut.slice(-2), tok.encode(`x" in one word:"`).slice(-2));
});

test('goldens: inputIds are sentencepieceIds truncated at 64, through our tokenizer and settings', (t) => {
  const g = goldens();
  const s = resolveSettings('bellm-sts', { maxLength: g.maxLength });
  t.deepEqual(tokenizeAll(tok, g.sentences, s), g.inputIds);
  t.deepEqual(tokenizeAll(tok, g.sentences, resolveSettings('bellm-sts', {})), g.sentencepieceIds);
});
