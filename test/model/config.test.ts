// config.json -> LlamaConfig: released LLaMA-2 layout, transformers 5 layout, Mistral, and refusals.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../../src/errors.ts';
import { normalizeConfig, readConfig } from '../../src/model/formats/config.ts';
import { copyDir, tempDir } from '../helpers/damaged.ts';
import { fixture } from '../helpers/shared.ts';

const base = () => JSON.parse(fs.readFileSync(fixture('tiny-llama/config.json'), 'utf8')) as Record<string, unknown>;

/** Write `raw` as config.json in a temp dir and read it back. */
function withConfig(t: Parameters<typeof tempDir>[0], raw: unknown): string {
  const dir = tempDir(t);
  fs.writeFileSync(path.join(dir, 'config.json'), typeof raw === 'string' ? raw : JSON.stringify(raw));
  return dir;
}

test('tiny-llama config.json (transformers 4 layout) and the fp16 copy', (t) => {
  const c = readConfig(fixture('tiny-llama'));
  t.deepEqual(c, {
    model_type: 'llama', hidden_size: 64, intermediate_size: 176, num_hidden_layers: 4, num_attention_heads: 4,
    num_key_value_heads: 2, head_dim: 16, rms_norm_eps: 1e-5, rope_theta: 10000, vocab_size: 32000,
    max_position_embeddings: 4096, torch_dtype: 'bfloat16', bos_token_id: 1, pad_token_id: 0,
  });
  t.deepEqual(readConfig(fixture('tiny-llama-fp16')), { ...c, torch_dtype: 'float16' });
});

test('transformers 5 layout: rope_parameters and dtype', (t) => {
  const raw = base();
  delete raw.rope_theta; delete raw.torch_dtype; delete raw.rope_scaling;
  raw.rope_parameters = { rope_theta: 500000.0, rope_type: 'default' };
  raw.dtype = 'bfloat16';
  const c = readConfig(withConfig(t, raw));
  t.is(c.rope_theta, 500000);
  t.is(c.torch_dtype, 'bfloat16');
  t.is(c.head_dim, 16);
});

test('mistral: head_dim key honoured, sliding_window ignored, defaults', (t) => {
  const raw = base();
  Object.assign(raw, { model_type: 'mistral', sliding_window: 4096, head_dim: 32, architectures: ['MistralForCausalLM'] });
  delete raw.num_key_value_heads; delete raw.max_position_embeddings; delete raw.rms_norm_eps; delete raw.bos_token_id; delete raw.pad_token_id;
  const c = readConfig(withConfig(t, raw));
  t.is(c.model_type, 'mistral');
  t.is(c.head_dim, 32);                           // not hidden_size / heads = 16
  t.is(c.num_key_value_heads, 4);                 // defaults to num_attention_heads
  t.is(c.max_position_embeddings, 131072);
  t.is(c.rms_norm_eps, 1e-6);
  t.is(c.bos_token_id, 1);
  t.is(c.pad_token_id, null);
  t.is(normalizeConfig({ ...raw, head_dim: null }).head_dim, 16); // null head_dim: derived
});

const refusals: [string, (r: Record<string, unknown>) => void, RegExp][] = [
  ['unknown model_type', (r) => { r.model_type = 'gpt2'; }, /config\.json: model_type "gpt2" is not supported \(only llama and mistral/],
  ['rope_scaling linear', (r) => { r.rope_scaling = { type: 'linear', factor: 2 }; }, /rope_scaling type "linear" is not supported/],
  ['rope_parameters llama3', (r) => { r.rope_parameters = { rope_type: 'llama3', rope_theta: 5e5 }; }, /rope_parameters type "llama3" is not supported/],
  ['hidden not divisible by heads', (r) => { r.num_attention_heads = 5; r.num_key_value_heads = 5; }, /hidden_size 64 is not divisible by num_attention_heads 5/],
  ['heads not a multiple of kv heads', (r) => { r.num_key_value_heads = 3; }, /num_attention_heads 4 is not a multiple of num_key_value_heads 3/],
  ['missing hidden_size', (r) => { delete r.hidden_size; }, /missing hidden_size/],
  ['bad vocab_size', (r) => { r.vocab_size = -3; }, /vocab_size must be a positive integer, got -3/],
  ['attention_bias', (r) => { r.attention_bias = true; }, /attention_bias true is not supported/],
  ['hidden_act gelu', (r) => { r.hidden_act = 'gelu'; }, /hidden_act "gelu" is not supported/],
];
for (const [name, edit, msg] of refusals) {
  test(`refuses ${name}, naming config.json`, (t) => {
    const raw = base();
    edit(raw);
    const dir = withConfig(t, raw);
    const e = t.throws(() => readConfig(dir), { instanceOf: UserError, message: msg });
    t.true(e!.message.includes(path.join(dir, 'config.json')));
  });
}

test('missing config.json, missing directory, corrupt JSON', (t) => {
  const dir = copyDir(fixture('tiny-llama'), path.join(tempDir(t), 'm'), ['tokenizer.model']);
  t.throws(() => readConfig(dir), { instanceOf: UserError, message: /no config\.json in .*\/m: expected a Hugging Face model directory/ });
  t.throws(() => readConfig(path.join(dir, 'nope')), { instanceOf: UserError, message: /no such directory .*nope/ });
  t.throws(() => readConfig(withConfig(t, '{"model_type": "llama",')), { instanceOf: UserError, message: /config\.json is not valid JSON/ });
});
