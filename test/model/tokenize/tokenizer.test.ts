// Tokenizer ids against goldens.json (SentencePiece ids, BOS included), for every way a model
// directory can ship its tokenizer, and the refusals.
import test from 'ava';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../../../src/errors.ts';
import { LLAMA2_TOKENIZER_MODEL_SHA256, loadTokenizer, truncate, type TokenizerOptions } from '../../../src/model/tokenize/tokenizer.ts';
import type { Tokenizer } from '../../../src/model/arch/types.ts';
import { copyDir, tempDir } from '../../helpers/damaged.ts';
import { fixture, goldens, sharedDir } from '../../helpers/shared.ts';

const g = goldens();
const LLAMA2_MODEL = path.join(sharedDir, 'models', 'llama2-tokenizer', 'tokenizer.model');
const sha = (f: string) => crypto.createHash('sha256').update(fs.readFileSync(f)).digest('hex');

function matchesGoldens(t: Parameters<typeof tempDir>[0], tok: Tokenizer): void {
  t.is(g.prompts.length, g.sentencepieceIds.length);
  g.prompts.forEach((p, i) => t.deepEqual(tok.encode(p), g.sentencepieceIds[i], `prompt ${i}: ${p}`));
  g.prompts.forEach((p, i) => t.deepEqual(truncate(tok.encode(p), g.maxLength), g.inputIds[i], `truncated prompt ${i}`));
}

test('the LLaMA-2 hash constant is the hash of the shared tokenizer.model', (t) => {
  t.is(sha(LLAMA2_MODEL), LLAMA2_TOKENIZER_MODEL_SHA256);
});

for (const dir of ['tiny-llama', 'tiny-llama-fp16']) {
  for (const impl of ['auto', 'tokenizer.json', 'llama-tokenizer-js'] as NonNullable<TokenizerOptions['impl']>[]) {
    test(`${dir} (${impl}): every golden prompt, incl. unicode/emoji, quotes and the 80-word one`, (t) => {
      const tok = loadTokenizer(fixture(dir), { impl });
      const usesJson = impl === 'tokenizer.json';
      t.is(tok.bosId, 1);
      t.regex(tok.description, usesJson ? /^@huggingface\/tokenizers \S+ \(.*tokenizer\.json\)$/ : /^llama-tokenizer-js \S+ \(built-in LLaMA-2 vocabulary; .*tokenizer\.model sha256 9e556afd4421… matches it\)$/);
      t.is(tok.fingerprint, sha(fixture(`${dir}/${usesJson ? 'tokenizer.json' : 'tokenizer.model'}`)));
      matchesGoldens(t, tok);
      t.deepEqual(tok.encode(''), [1]); // BOS even for empty text, never EOS
      t.deepEqual(tok.encode('Hello world'), [1, 15043, 3186]);
    });
  }
}

test('tokenizer.model alone (the shared LLaMA-2 model) -> llama-tokenizer-js', (t) => {
  const dir = tempDir(t);
  fs.copyFileSync(LLAMA2_MODEL, path.join(dir, 'tokenizer.model'));
  const tok = loadTokenizer(dir);
  t.regex(tok.description, /^llama-tokenizer-js/);
  matchesGoldens(t, tok);
  t.throws(() => loadTokenizer(dir, { impl: 'tokenizer.json' }), { instanceOf: UserError, message: /no tokenizer\.json in / });
});

test('tokenizer.json alone -> @huggingface/tokenizers', (t) => {
  const dir = copyDir(fixture('tiny-llama'), tempDir(t), ['tokenizer.json']);
  const tok = loadTokenizer(dir);
  t.regex(tok.description, /^@huggingface\/tokenizers/);
  matchesGoldens(t, tok);
});

test('a tokenizer.model that is not LLaMA-2: tokenizer.json if present, else a clear error', (t) => {
  const dir = copyDir(fixture('tiny-llama'), tempDir(t), ['tokenizer.json', 'tokenizer_config.json']);
  const other = fs.readFileSync(LLAMA2_MODEL);
  other[other.length - 1] ^= 1;
  fs.writeFileSync(path.join(dir, 'tokenizer.model'), other);
  t.regex(loadTokenizer(dir).description, /^@huggingface\/tokenizers/);
  t.throws(() => loadTokenizer(dir, { impl: 'llama-tokenizer-js' }), { instanceOf: UserError, message: /tokenizer\.model is not LLaMA-2's SentencePiece model \(sha256 [0-9a-f]{12}…\), so llama-tokenizer-js cannot stand in for it; use the tokenizer\.json implementation/ });
  fs.rmSync(path.join(dir, 'tokenizer.json'));
  t.throws(() => loadTokenizer(dir), { instanceOf: UserError, message: /tokenizer\.model is not LLaMA-2's SentencePiece model .*; add the model's tokenizer\.json/ });
});

test('added tokens beyond the LLaMA-2 vocabulary make tokenizer.json authoritative', (t) => {
  const dir = copyDir(fixture('tiny-llama'), tempDir(t), ['tokenizer.json', 'tokenizer.model', 'tokenizer_config.json']);
  const cfgFile = path.join(dir, 'tokenizer_config.json');
  const cfg = JSON.parse(fs.readFileSync(cfgFile, 'utf8'));
  cfg.added_tokens_decoder = { '32000': { content: '<pad>', special: true } };
  fs.writeFileSync(cfgFile, JSON.stringify(cfg));
  t.regex(loadTokenizer(dir).description, /^@huggingface\/tokenizers/);
});

test('no tokenizer files; corrupt tokenizer.json', (t) => {
  const dir = tempDir(t);
  t.throws(() => loadTokenizer(dir), { instanceOf: UserError, message: /no tokenizer\.json or tokenizer\.model in / });
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), '{"model": ');
  t.throws(() => loadTokenizer(dir), { instanceOf: UserError, message: /tokenizer\.json is not valid JSON/ });
});

test('truncate keeps the first maxLength ids (BOS first) and refuses bad lengths', (t) => {
  t.deepEqual(truncate([1, 2, 3, 4], 2), [1, 2]);
  t.deepEqual(truncate([1, 2], 64), [1, 2]);
  t.throws(() => truncate([1], 0), { instanceOf: UserError, message: /maxLength must be a positive integer, got 0/ });
  const long = g.sentencepieceIds.findIndex((ids) => ids.length > g.maxLength);
  t.true(long >= 0);
  t.is(g.inputIds[long].length, g.maxLength);
});

test("special-token strings in the text (<s>, </s>, <unk>) become their ids in both tokenizers, as transformers' LlamaTokenizerFast does", (t) => {
  const js = loadTokenizer(fixture('tiny-llama'), { impl: 'llama-tokenizer-js' });
  const hf = loadTokenizer(fixture('tiny-llama'), { impl: 'tokenizer.json' });
  // By hand from LLaMA-2's vocabulary: the text is split at each special token and each piece gets its own
  // prefix space: "a" -> ▁a (263), " b" -> ▁ ▁b (29871, 289), "<" -> ▁< (529), ">" -> ▁> (1405).
  const cases: [string, number[]][] = [
    ['a <s> b', [1, 263, 29871, 1, 29871, 289]],
    ['<s>', [1, 1]],
    ['x</s>', [1, 921, 2]],
    ['a<s>b', [1, 263, 1, 289]],
    ['<<s>>', [1, 529, 1, 1405]],
    ['hello <unk> world', [1, 22172, 29871, 0, 29871, 3186]],
    ['<s><s></s>', [1, 1, 1, 2]],
  ];
  for (const [text, ids] of cases) {
    t.deepEqual(hf.encode(text), ids, `tokenizer.json: ${text}`);
    t.deepEqual(js.encode(text), ids, `llama-tokenizer-js: ${text}`);
  }
  // and on the BeLLM prompt around such a sentence
  const p = 'The representative word for sentence Use </s> to end. is:"';
  t.deepEqual(js.encode(p), hf.encode(p));
});

test('D12: tokenizer.json that is JSON but not a tokenizer is one UserError; ids beyond the vocabulary are caught', (t) => {
  const dir = copyDir(fixture('tiny-llama'), tempDir(t), ['tokenizer_config.json']);
  for (const body of ['{}', '[]', 'null', '{"model": {"type": "BPE"}}', '{"model": {"type": "Nope"}}', '{"model": {"type": "BPE", "vocab": {}, "merges": []}, "added_tokens": 7}']) {
    fs.writeFileSync(path.join(dir, 'tokenizer.json'), body);
    t.throws(() => loadTokenizer(dir), { instanceOf: UserError, message: /tokenizer\.json is not a usable tokenizer|has no BOS token/ }, body);
  }
});

test('vocabSize: the ids a tokenizer can return', (t) => {
  t.is(loadTokenizer(fixture('tiny-llama'), { impl: 'llama-tokenizer-js' }).vocabSize, 32000);
  t.is(loadTokenizer(fixture('tiny-llama'), { impl: 'tokenizer.json' }).vocabSize, 32000);
});
