// Which layers run bidirectionally when --billm-start-index is not given: the preset's k, else 0 for a
// model whose config.json asks for bidirectional attention (EmbeddingGemma: use_bidirectional_attention),
// else none. An explicit value always wins (-1: all causal).
import test from 'ava';
import { startIndexFrom } from '../../src/cli/options/model-options.ts';
import { normalizeConfig } from '../../src/model/formats/config.ts';

const gemma = { model_type: 'gemma3_text', hidden_size: 32, intermediate_size: 64, num_hidden_layers: 4, num_attention_heads: 2, vocab_size: 100 };

test('a config that asks for bidirectional attention runs every layer bidirectional unless told otherwise', (t) => {
  const native = normalizeConfig({ ...gemma, use_bidirectional_attention: true }).arch.bidirectional;
  t.true(native);
  t.is(startIndexFrom(undefined, 4, 'bellm-sts', native), 0);
  t.is(startIndexFrom(undefined, 4, undefined, native), 0);
  t.is(startIndexFrom(-1, 4, 'bellm-sts', native), null, 'explicit -1: all causal');
  t.is(startIndexFrom(3, 4, 'bellm-sts', native), 3);
  t.is(startIndexFrom(undefined, 4, 'bellm-sts', false), null, 'a causal model stays causal');
  t.is(startIndexFrom(undefined, 4, 'llm2vec', false), 0, "the preset's k");
});
