// config.json -> LlamaConfig: released LLaMA-2 layout, transformers 5 layout, Mistral, and refusals.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../../../src/errors.ts';
import { normalizeConfig, readConfig } from '../../../src/model/formats/config.ts';
import { copyDir, tempDir } from '../../helpers/damaged.ts';
import { fixture } from '../../helpers/shared.ts';

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
    // a plain LLaMA, spelled out (llamaArch derives the same from normalizeConfig)
    arch: {
      layer_types: ['full_attention', 'full_attention', 'full_attention', 'full_attention'], sliding_window: null,
      rope: { full_attention: { rope_type: 'default', rope_theta: 10000 }, sliding_attention: { rope_type: 'default', rope_theta: 10000 } },
      qkv_bias: false, o_bias: false, qk_norm: false, norm_plus_one: false, embed_scale: null, act: 'silu', sandwich_norms: false,
      attn_scale: 0.25, attn_softcap: null, tie_word_embeddings: false, bidirectional: false,
    },
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

test('mistral: head_dim key honoured, sliding_window on every layer, defaults', (t) => {
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
  t.is(c.arch.sliding_window, 4096);              // MistralModel: the sliding-window causal mask on every layer
  t.deepEqual(c.arch.layer_types, ['sliding_attention', 'sliding_attention', 'sliding_attention', 'sliding_attention']);
  t.is(normalizeConfig({ ...raw, sliding_window: null }).arch.sliding_window, null);
  t.deepEqual(normalizeConfig({ ...raw, sliding_window: null }).arch.layer_types, new Array(4).fill('full_attention'));
});

const refusals: [string, (r: Record<string, unknown>) => void, RegExp][] = [
  ['unknown model_type', (r) => { r.model_type = 'gpt2'; }, /config\.json: model_type "gpt2" is not supported; supported: llama, mistral, qwen2, qwen3, gemma2, gemma3_text$/],
  ['multimodal gemma3', (r) => { r.model_type = 'gemma3'; }, /model_type "gemma3" is not supported \(a multimodal Gemma-3: use its text model, model_type gemma3_text\)/],
  ['rope_scaling yarn', (r) => { r.rope_scaling = { type: 'yarn', factor: 2 }; }, /rope_scaling type "yarn" is not supported \(supported: default, linear, llama3\)/],
  ['rope_parameters llama3 without its factors', (r) => { r.rope_parameters = { rope_type: 'llama3', rope_theta: 5e5 }; }, /rope_parameters\.factor must be a positive number, got undefined/],
  ['linear rope without factor', (r) => { r.rope_scaling = { type: 'linear' }; }, /rope_scaling\.factor must be a positive number/],
  ['partial rotary', (r) => { r.partial_rotary_factor = 0.5; }, /partial_rotary_factor 0\.5 is not supported/],
  ['layer_types of the wrong length', (r) => { r.layer_types = ['full_attention']; }, /layer_types must list full_attention or sliding_attention for each of the 4 layers/],
  ['soft-capping outside Gemma', (r) => { r.attn_logit_softcapping = 30; }, /attn_logit_softcapping is a Gemma setting; llama has none/],
  ['hidden not divisible by heads', (r) => { r.num_attention_heads = 5; r.num_key_value_heads = 5; }, /hidden_size 64 is not divisible by num_attention_heads 5/],
  ['heads not a multiple of kv heads', (r) => { r.num_key_value_heads = 3; }, /num_attention_heads 4 is not a multiple of num_key_value_heads 3/],
  ['missing hidden_size', (r) => { delete r.hidden_size; }, /missing hidden_size/],
  ['bad vocab_size', (r) => { r.vocab_size = -3; }, /vocab_size must be a positive integer, got -3/],
  ['attention_bias not a boolean', (r) => { r.attention_bias = 'yes'; }, /attention_bias must be true or false, got "yes"/],
  ['hidden_act gelu', (r) => { r.hidden_act = 'gelu'; }, /hidden_act "gelu" is not supported for llama \(silu\)/],
  ['gemma with exact gelu', (r) => { r.model_type = 'gemma2'; r.hidden_activation = 'gelu'; }, /hidden_activation "gelu" is not supported for gemma2 \(gelu_pytorch_tanh\)/],
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

// Each config class's defaults and switches, as transformers 5.18's configuration_*.py and modeling_*.py
// files set them (Qwen2Config, Qwen3Config, Gemma2Config, Gemma3TextConfig; attention biases from the
// nn.Linear(bias=...) of each *Attention class).
const small = { hidden_size: 64, intermediate_size: 96, num_hidden_layers: 6, num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 100 };

test('qwen2: q/k/v biases but no o bias, no BOS, sliding only from max_window_layers with use_sliding_window', (t) => {
  const c = normalizeConfig({ model_type: 'qwen2', ...small, rope_theta: 1e6 });
  t.like(c.arch, { qkv_bias: true, o_bias: false, qk_norm: false, act: 'silu', sliding_window: null, norm_plus_one: false });
  t.is(c.head_dim, 16);
  t.is(c.bos_token_id, null);
  t.deepEqual(c.arch.layer_types, new Array(6).fill('full_attention'));
  const w = normalizeConfig({ model_type: 'qwen2', ...small, use_sliding_window: true, sliding_window: 8, max_window_layers: 4 });
  t.is(w.arch.sliding_window, 8);
  t.deepEqual(w.arch.layer_types, ['full_attention', 'full_attention', 'full_attention', 'full_attention', 'sliding_attention', 'sliding_attention']);
  t.is(normalizeConfig({ model_type: 'qwen2', ...small, use_sliding_window: false, sliding_window: 8 }).arch.sliding_window, null);
});

test('qwen3: q/k norms, head_dim 128 by default, attention_bias switches all four biases', (t) => {
  const c = normalizeConfig({ model_type: 'qwen3', ...small });
  t.is(c.head_dim, 128);
  t.like(c.arch, { qk_norm: true, qkv_bias: false, o_bias: false, attn_scale: 1 / Math.sqrt(128) });
  t.like(normalizeConfig({ model_type: 'qwen3', ...small, head_dim: 24, attention_bias: true }).arch, { qkv_bias: true, o_bias: true });
});

test('llama with attention_bias: biases on q, k, v and o', (t) => {
  t.like(normalizeConfig({ model_type: 'llama', ...small, attention_bias: true }).arch, { qkv_bias: true, o_bias: true });
});

test('llama3 rope_scaling (transformers 4) and rope_parameters (5) read alike', (t) => {
  const scaling = { factor: 8.0, low_freq_factor: 1.0, high_freq_factor: 4.0, original_max_position_embeddings: 8192 };
  const v4 = normalizeConfig({ model_type: 'llama', ...small, rope_theta: 500000, rope_scaling: { ...scaling, rope_type: 'llama3' } });
  const v5 = normalizeConfig({ model_type: 'llama', ...small, rope_parameters: { ...scaling, rope_type: 'llama3', rope_theta: 500000 } });
  t.deepEqual(v4.arch.rope, v5.arch.rope);
  t.deepEqual(v4.arch.rope.full_attention, { rope_type: 'llama3', rope_theta: 500000, ...scaling });
  t.is(v4.rope_theta, 500000);
});

test('gemma2: (1 + w) norms, scaled embeddings, GeGLU, sandwich norms, soft-capping 50 and alternating windows by default', (t) => {
  const c = normalizeConfig({ model_type: 'gemma2', ...small, head_dim: 16 });
  t.like(c.arch, {
    norm_plus_one: true, embed_scale: Math.fround(8), act: 'gelu_tanh', sandwich_norms: true, attn_softcap: 50,
    attn_scale: 1 / 16, sliding_window: 4096, tie_word_embeddings: true, qk_norm: false,
  });
  t.deepEqual(c.arch.layer_types, ['sliding_attention', 'full_attention', 'sliding_attention', 'full_attention', 'sliding_attention', 'full_attention']);
  t.is(c.bos_token_id, 2);
  t.is(normalizeConfig({ model_type: 'gemma2', ...small, attn_logit_softcapping: null }).arch.attn_softcap, null);
  t.is(normalizeConfig({ model_type: 'gemma2', ...small, query_pre_attn_scalar: 144 }).arch.attn_scale, 1 / 12);
});

test('gemma3_text: q/k norms, one global layer in six, local RoPE base for the sliding layers (both layouts)', (t) => {
  const c = normalizeConfig({ model_type: 'gemma3_text', ...small, rope_scaling: { rope_type: 'linear', factor: 8 } });
  t.like(c.arch, { qk_norm: true, attn_softcap: null, norm_plus_one: true });
  t.deepEqual(c.arch.layer_types, ['sliding_attention', 'sliding_attention', 'sliding_attention', 'sliding_attention', 'sliding_attention', 'full_attention']);
  t.deepEqual(c.arch.rope, {
    full_attention: { rope_type: 'linear', rope_theta: 1_000_000, factor: 8 },
    sliding_attention: { rope_type: 'default', rope_theta: 10000 },
  });
  const v5 = normalizeConfig({
    model_type: 'gemma3_text', ...small, layer_types: ['sliding_attention', 'full_attention', 'sliding_attention', 'full_attention', 'sliding_attention', 'full_attention'],
    rope_parameters: { full_attention: { rope_type: 'linear', factor: 8, rope_theta: 1_000_000 }, sliding_attention: { rope_type: 'default', rope_theta: 10000 } },
  });
  t.deepEqual(v5.arch.rope, c.arch.rope);
  t.is(v5.arch.layer_types[1], 'full_attention');
  t.true(normalizeConfig({ model_type: 'gemma3_text', ...small, use_bidirectional_attention: true }).arch.bidirectional);
});
