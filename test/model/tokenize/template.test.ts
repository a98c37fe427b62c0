// Templates: syntax, the two tokenization rules, spans, truncation. Reference ids are SentencePiece ids
// of each piece alone (tok.encode(piece) without its BOS), written out by hand per case.
import test from 'ava';
import { UserError } from '../../../src/errors.ts';
import { encodeRule } from '../../../src/model/embed/embedder.ts';
import { resolveSettings } from '../../../src/model/presets/presets.ts';
import { checkTokenization, encodeWithTemplate, parseTemplate, pooledPositions, type EncodeRule, type Tokenization } from '../../../src/model/tokenize/template.ts';
import { loadTokenizer } from '../../../src/model/tokenize/tokenizer.ts';
import { fixture, goldens } from '../../helpers/shared.ts';

const tok = loadTokenizer(fixture('tiny-llama'));
const SP = (s: string): number[] => tok.encode(s).slice(1);
const range = (a: number, b: number): number[] => Array.from({ length: b - a }, (_, i) => a + i);
const rule = (src: string, tokenize: Tokenization, maxLength = 512, instruction?: string): EncodeRule =>
  ({ template: parseTemplate(src), tokenize, maxLength, instruction });

test('syntax: placeholders, stars, groups and literal braces', (t) => {
  const tp = parseTemplate('{bos}A {{x}}:{(}{instruction},{)}B{text}C{text*}{eos*}');
  t.deepEqual(tp.pieces.map((p) => [p.group, p.pooled, p.parts.map((x) => (x.kind === 'fixed' ? x.text : `{${x.kind}}`)).join('')]), [
    [false, false, '{bos}'], [false, false, 'A {x}:'], [true, false, '{instruction},'], [false, false, 'B'],
    [false, false, '{text}'], [false, false, 'C'], [false, true, '{text}'], [false, true, '{eos}'],
  ]);
  t.deepEqual(tp.pooled, [6, 7]);
  t.deepEqual(parseTemplate('{(*}{text} [/INST]{)}').pooled, [0, 0]);
  t.is(parseTemplate('The representative word for sentence {text} is:"').pooled, null);
});

test('syntax errors are one-line UserErrors that name the fix', (t) => {
  const cases: [string, RegExp][] = [
    ['no placeholder', /has no \{text\}/],
    ['{txt}', /unknown placeholder \{txt\}/],
    ['a } b {text}', /lone "}".*write \}\}/],
    ['{text', /never closed/],
    ['{text*} x {eos} {text*}', /must be adjacent/],
    ['x {bos}{text}', /\{bos\} may only open/],
    ['{(}{text*}{)}', /mark the whole group/],
    ['{(}{eos}{text}{)}', /cannot be inside a group/],
    ['{(}{text}', /never closed with \{\)\}/],
    ['{(}{(}{text}{)}{)}', /cannot nest/],
    ['{)}{text}', /without an open/],
  ];
  for (const [src, re] of cases) t.throws(() => parseTemplate(src), { instanceOf: UserError, message: re }, src);
  t.throws(() => checkTokenization(parseTemplate('{text*} tail'), 'whole'), { instanceOf: UserError, message: /pooled span must end the text/ });
  t.throws(() => checkTokenization(parseTemplate('{text}{eos} more'), 'whole'), { instanceOf: UserError, message: /--tokenize pieces/ });
  t.notThrows(() => checkTokenization(parseTemplate('{text*} tail'), 'pieces'));
});

test('whole: one string after BOS (the golden BeLLM prompt ids), trailing {eos} appended', (t) => {
  const g = goldens();
  const r = rule('The representative word for sentence {text} is:"', 'whole');
  g.prompts.forEach((p, i) => {
    const text = p.slice('The representative word for sentence '.length, -' is:"'.length);
    const e = encodeWithTemplate(tok, r, text);
    t.deepEqual(e.ids, g.sentencepieceIds[i], `sentence ${i}`);
    t.is(e.span, null);
    t.false(e.truncated);
  });
  const e5 = encodeWithTemplate(tok, rule('Instruct: {instruction}\nQuery: {text}{eos}', 'whole', 512, 'Do it.'), 'A dog runs.');
  t.deepEqual(e5.ids, [...tok.encode('Instruct: Do it.\nQuery: A dog runs.'), 2]);
  t.deepEqual(pooledPositions(e5, 'last'), [e5.ids.length - 1]);
});

test('pieces: each piece alone, specials as ids, the marked span exact', (t) => {
  const r = rule('{bos}Instruct:{(}{instruction},{)}\nQuery:{text}\nQuery again:{text*}{eos*}', 'pieces', 300, 'Find twins');
  const x = 'A cat sat on the mat.';
  const head = [1, ...SP('Instruct:'), ...SP('Find twins,'), ...SP('\nQuery:'), ...SP(x), ...SP('\nQuery again:')];
  const e = encodeWithTemplate(tok, r, x);
  t.deepEqual(e.ids, [...head, ...SP(x), 2]);
  t.deepEqual(e.span, { from: head.length, to: head.length + SP(x).length + 1 });
  t.deepEqual(pooledPositions(e, 'avg'), range(head.length, e.ids.length));
  t.deepEqual(pooledPositions(e, 'last'), [e.ids.length - 1]);
  t.deepEqual(pooledPositions(e, 'first'), [head.length]);
  t.deepEqual(e.pieces.map((p) => p.label), ['{bos}', '"Instruct:"', '{(}{instruction},{)}', '"\\nQuery:"', '{text}', '"\\nQuery again:"', '{text*}', '{eos*}']);
  // SentencePiece's leading space on "\nQuery:" is kept, as the HF tokenizer gives per piece
  t.deepEqual(SP('\nQuery:').slice(0, 2), [29871, 13]);
});

test('whole with a marked suffix: LLM2Vec\'s rule (the text\'s own token count, back from the end)', (t) => {
  const x = 'Two dogs play in the snow.';
  const e = encodeWithTemplate(tok, rule('{instruction} {text*}', 'whole', 512, 'Retrieve semantically similar text:'), x);
  const ids = tok.encode(`Retrieve semantically similar text: ${x}`);
  t.deepEqual(e.ids, ids);
  t.deepEqual(e.span, { from: ids.length - SP(x).length, to: ids.length });
  // a pooled group: "[INST] ... {text} [/INST]" pools the sentence and " [/INST]"
  const c = encodeWithTemplate(tok, rule('[INST] {instruction} {(*}{text} [/INST]{)}', 'whole', 512, 'Q:'), x);
  t.deepEqual(c.ids, tok.encode(`[INST] Q: ${x} [/INST]`));
  t.deepEqual(c.span, { from: c.ids.length - SP(`${x} [/INST]`).length, to: c.ids.length });
  // only BOS marked
  const b = encodeWithTemplate(tok, rule('{bos*}{text}', 'whole'), x);
  t.deepEqual(b.span, { from: 0, to: 1 });
});

test('truncation: whole cuts the end and keeps trailing {eos}; pieces cut each piece (Echo)', (t) => {
  const x = 'one two three four five six seven eight nine ten';
  const full = tok.encode(`query: ${x}`);
  const w = encodeWithTemplate(tok, rule('query: {text}{eos}', 'whole', 8), x);
  t.deepEqual(w.ids, [...full.slice(0, 7), 2]);
  t.true(w.truncated);
  t.false(encodeWithTemplate(tok, rule('query: {text}{eos}', 'whole', full.length + 1), x).truncated);
  t.true(encodeWithTemplate(tok, rule('query: {text}{eos}', 'whole', full.length), x).truncated);
  // BeLLM's rule: the plain first maxLength ids
  t.deepEqual(encodeWithTemplate(tok, rule('S "{text}" w:"', 'whole', 6), x).ids, tok.encode(`S "${x}" w:"`).slice(0, 6));
  // Echo: every piece on its own, so the final </s> survives
  const p = encodeWithTemplate(tok, rule('{bos}Q:{text}\nQ again:{text*}{eos*}', 'pieces', 4), x);
  const q = SP('Q:').slice(0, 4), tx = SP(x).slice(0, 4), q2 = SP('\nQ again:').slice(0, 4);
  t.deepEqual(p.ids, [1, ...q, ...tx, ...q2, ...tx, 2]);
  t.true(p.truncated);
  t.deepEqual(p.span, { from: 1 + q.length + tx.length + q2.length, to: p.ids.length });
  // a marked suffix cut by truncation keeps what is left of it, counted as truncated
  const l = encodeWithTemplate(tok, rule('{instruction} {text*}', 'whole', 10, 'Find:'), x);
  const all = tok.encode(`Find: ${x}`);
  t.deepEqual(l.ids, all.slice(0, 10));
  t.deepEqual(l.span, { from: all.length - SP(x).length, to: 10 });
  t.true(l.truncated);
});

test('an empty pooled span is refused, naming the input', (t) => {
  t.throws(() => encodeWithTemplate(tok, rule('{bos}Q:{text*}', 'pieces'), '', 'sentence 7'), { instanceOf: UserError, message: /sentence 7: the pooled span .* has no tokens/ });
  t.throws(() => encodeWithTemplate(tok, rule('{instruction} {text*}', 'whole', 3, 'A long instruction here:'), 'x y'), { instanceOf: UserError, message: /raise --max-length/ });
  t.throws(() => encodeWithTemplate(tok, rule('{instruction}: {text}', 'whole'), 'x'), { instanceOf: UserError, message: /--instruction/ });
});

test('the tokenizer.json implementation gives the same ids, spans and EOS for every preset', (t) => {
  const hf = loadTokenizer(fixture('tiny-llama'), { impl: 'tokenizer.json' });
  t.is(hf.eosId, 2);
  t.is(hf.idToToken?.(13), '<0x0A>');
  t.is(tok.idToToken?.(2), '</s>');
  for (const p of ['bellm-sts', 'echo', 'echo-instruct', 'llm2vec', 'e5', 'repllama', 'sgpt', 'angle']) {
    const r = encodeRule(resolveSettings(p, {}));
    for (const s of goldens().sentences.slice(18, 30)) t.deepEqual(encodeWithTemplate(hf, r, s), encodeWithTemplate(tok, r, s), `${p}: ${s}`);
  }
});
