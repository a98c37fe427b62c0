import test from 'ava';
import { UserError } from '../../../src/errors.ts';
import { applyPrompt, PRESETS, PROMPTS, preprocess, resolvePrompt, resolveSettings } from '../../../src/model/presets/presets.ts';
import { goldens } from '../../helpers/shared.ts';

const g = goldens();

test('bellm-sts preprocessing + BeLLM prompt reproduce every golden prompt text', (t) => {
  t.is(g.preprocessing, 'bellm-sts');
  t.is(g.prompt, PROMPTS.bellm);
  g.sentences.forEach((s, i) => t.is(applyPrompt(PROMPTS.bellm, preprocess(s, 'bellm-sts')), g.prompts[i], `sentence ${i}`));
});

test('bellm-sts: "." appended unless the text ends in . ? " \' ; then a final ? becomes .', (t) => {
  t.is(preprocess('a man is playing', 'bellm-sts'), 'a man is playing.');
  t.is(preprocess('a man is playing .', 'bellm-sts'), 'a man is playing .');
  t.is(preprocess('Is this a question?', 'bellm-sts'), 'Is this a question.');
  t.is(preprocess('he said "no"', 'bellm-sts'), 'he said "no"');
  t.is(preprocess("it's the dogs'", 'bellm-sts'), "it's the dogs'");
  t.is(preprocess('', 'bellm-sts'), '');
});

test('bellm-degrade also turns double quotes into single quotes, before the ? rule', (t) => {
  t.is(preprocess('He said "hello" to me', 'bellm-degrade'), "He said 'hello' to me.");
  t.is(preprocess('he asked "why?"', 'bellm-degrade'), "he asked 'why?'");
  t.is(preprocess('why?', 'bellm-degrade'), 'why.');
  t.is(preprocess('He said "hello"', 'bellm-sts'), 'He said "hello"');
});

test('none leaves text untouched', (t) => {
  t.is(preprocess('Is this "it"?', 'none'), 'Is this "it"?');
});

test('prompts: names, user templates with {text}, and a clear error otherwise', (t) => {
  t.is(resolvePrompt('prompteol'), 'This sentence : "{text}" means in one word:"');
  t.is(resolvePrompt('summarize'), 'Summarize sentence "{text}" in one word:"');
  t.is(applyPrompt(resolvePrompt('none'), 'abc'), 'abc');
  t.is(applyPrompt(resolvePrompt('Q: {text} A:'), 'x'), 'Q: x A:');
  const e = t.throws(() => resolvePrompt('no placeholder'), { instanceOf: UserError });
  t.regex(e!.message, /\{text\}/);
});

test('presets carry the released scripts\' settings and explicit flags override them', (t) => {
  t.like(PRESETS['bellm-sts'], { preprocess: 'bellm-sts', prompt: PROMPTS.bellm, pooling: 'last', maxLength: 512, mask: 'correct' });
  t.like(PRESETS['bellm-degrade'], { preprocess: 'bellm-degrade', prompt: PROMPTS.summarize, pooling: 'last', maxLength: 64 });
  t.like(PRESETS.prompteol, { prompt: PROMPTS.prompteol, pooling: 'last' });
  t.like(PRESETS.none, { prompt: '{text}', pooling: 'avg', preprocess: 'none' });
  const s = resolveSettings('bellm-sts', { pooling: 'avg', maxLength: 64 });
  t.like(s, { preset: 'bellm-sts', pooling: 'avg', maxLength: 64, prompt: PROMPTS.bellm });
  t.throws(() => resolveSettings('nope', {}), { instanceOf: UserError, message: /unknown preset "nope"/ });
  t.throws(() => resolveSettings('bellm-sts', { maxLength: 0 }), { instanceOf: UserError });
});
